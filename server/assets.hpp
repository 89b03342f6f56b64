// The page's files, embedded at build time from web/ (generated/web_assets.cpp).
#pragma once

#include <string_view>
#include <vector>

namespace hires::server {

struct Asset {
  std::string_view path;  // "/", "/app.js", "/app.css"
  std::string_view mime;
  std::string_view body;
};

const std::vector<Asset>& web_assets();

}  // namespace hires::server
