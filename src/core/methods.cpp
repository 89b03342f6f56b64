#include "core/methods.hpp"

namespace hires::core {

Filter filter_for(Method m) {
  switch (m) {
    case Method::nearest:
      return Filter::nearest;
    case Method::bilinear:
      return Filter::triangle;
    case Method::bicubic:
      return Filter::catmull_rom;
    case Method::lanczos:
      return Filter::lanczos3;
  }
  return Filter::lanczos3;
}

}  // namespace hires::core
