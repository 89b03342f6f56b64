#include "hires/error.hpp"

#include <utility>

namespace hires {
namespace {
std::string compose(const std::string& subject, const std::string& problem,
                    const std::string& hint) {
  std::string text = subject.empty() ? problem : subject + ": " + problem;
  if (!hint.empty()) text += " (" + hint + ")";
  return text;
}
}  // namespace

Error::Error(ErrorKind kind, std::string subject, std::string problem, std::string hint)
    : std::runtime_error(compose(subject, problem, hint)),
      kind_(kind),
      subject_(std::move(subject)),
      problem_(std::move(problem)),
      hint_(std::move(hint)) {}

}  // namespace hires
