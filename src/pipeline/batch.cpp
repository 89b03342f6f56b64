// Batches: planning outputs for files and folders, then running them one by one.
#include "hires/batch.hpp"

#include <fmt/format.h>
#include <glob.h>
#include <sys/stat.h>
#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>

#include "hires/error.hpp"
#include "io/atomic_file.hpp"

namespace hires {
namespace fs = std::filesystem;

namespace {

std::string lower_ext(const fs::path& p) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return e;
}

// The output name for an input: the requested format's extension, else the input's own when we
// write that format, else PNG (lossless, keeps alpha).
fs::path output_name(const fs::path& input_name, Format format) {
  fs::path name = input_name;
  if (format != Format::from_extension) {
    name.replace_extension(format_extension(format));
  } else if (!format_from_path(input_name)) {
    name.replace_extension(".png");
  }
  return name;
}

fs::path sibling_output(const fs::path& input, Format format) {
  fs::path name = output_name(input.filename(), format);
  const std::string ext = name.extension().string();
  return input.parent_path() / (name.stem().string() + "-hires" + ext);
}

// Identity of an existing file (device, inode): catches hard links and every other spelling.
std::optional<std::pair<dev_t, ino_t>> file_id(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return std::nullopt;
  return std::pair{st.st_dev, st.st_ino};
}

// The images in `dir` (and below with `recursive`), leaving out hires' own temp files and the
// folder `skip` (the output folder, when it lies inside the input tree: so a command can be run
// again without taking its earlier results as inputs).
std::vector<fs::path> images_in(const fs::path& dir, bool recursive,
                                const std::optional<fs::path>& skip) {
  std::vector<fs::path> files;
  std::error_code ec;
  const auto skip_id = skip ? file_id(*skip) : std::nullopt;
  auto add = [&](const fs::directory_entry& e) {
    if (e.is_regular_file(ec) && is_image_path(e.path()) &&
        !io::is_temp_name(e.path().filename().string())) {
      files.push_back(e.path());
    }
  };
  if (recursive) {
    for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      if (skip_id && it->is_directory(ec) && file_id(it->path()) == skip_id) {
        it.disable_recursion_pending();
        continue;
      }
      add(*it);
    }
  } else {
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) add(*it);
  }
  if (ec) throw Error(ErrorKind::input, dir.string(), "cannot list folder: " + ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

fs::path canonical_key(const fs::path& p) {
  std::error_code ec;
  fs::path c = fs::weakly_canonical(p, ec);
  return ec ? fs::absolute(p) : c;
}

// An input that is no file but holds wildcards (`hires "*.png"`, quoted so that the shell left it)
// is expanded here as the shell would have; one that matches nothing is an error.
std::vector<fs::path> expand_patterns(const std::vector<fs::path>& inputs) {
  std::vector<fs::path> out;
  for (const fs::path& in : inputs) {
    const std::string text = in.string();
    std::error_code ec;
    if (fs::exists(in, ec) || text.find_first_of("*?[") == std::string::npos) {
      out.push_back(in);
      continue;
    }
    glob_t found{};
    const int rc = ::glob(text.c_str(), 0, nullptr, &found);
    std::vector<fs::path> matches;
    if (rc == 0) {
      for (std::size_t i = 0; i < found.gl_pathc; ++i) matches.emplace_back(found.gl_pathv[i]);
    }
    globfree(&found);
    if (matches.empty()) {
      throw Error(ErrorKind::input, "", fmt::format("no file matches {}", text),
                  "check the pattern and the folder");
    }
    out.insert(out.end(), matches.begin(), matches.end());  // glob sorts them
  }
  return out;
}

// True when a folder holds images only in its sub-folders (so -r would find them).
bool images_below(const std::vector<fs::path>& inputs) {
  std::error_code ec;
  for (const fs::path& in : inputs) {
    if (fs::is_directory(in, ec) && !images_in(in, true, std::nullopt).empty()) return true;
  }
  return false;
}

}  // namespace

bool is_image_path(const fs::path& path) {
  static const std::set<std::string> exts{".jpg",  ".jpeg", ".jpe",  ".png",  ".webp", ".tif",
                                          ".tiff", ".gif",  ".heic", ".heif", ".avif"};
  return exts.count(lower_ext(path)) != 0;
}

std::vector<Job> plan_jobs(const BatchRequest& request) {
  if (request.inputs.empty()) throw Error(ErrorKind::usage, "INPUT", "no input given");
  BatchRequest req = request;
  req.inputs = expand_patterns(request.inputs);
  std::error_code ec;
  const bool many = req.inputs.size() > 1 ||
                    std::any_of(req.inputs.begin(), req.inputs.end(),
                                [&](const fs::path& p) { return fs::is_directory(p, ec); });
  bool output_is_dir = false;
  if (req.output) {
    const std::string o = req.output->string();
    output_is_dir = many || fs::is_directory(*req.output, ec) || o.ends_with('/');
    if (many && fs::exists(*req.output, ec) && !fs::is_directory(*req.output, ec)) {
      throw Error(ErrorKind::usage, o, "is a file, but several inputs need an output folder",
                  "pass -o FOLDER");
    }
    // `-o one.png` for several inputs would become a folder called one.png.
    if (many && !fs::exists(*req.output, ec) && !o.ends_with('/') &&
        format_from_path(*req.output).has_value()) {
      throw Error(ErrorKind::usage, o, "names a file, but several inputs need an output folder",
                  "pass -o FOLDER (or -o FOLDER/ to use that name)");
    }
  }

  std::vector<Job> jobs;
  for (const fs::path& in : req.inputs) {
    if (fs::is_directory(in, ec)) {
      if (!req.output) {
        throw Error(ErrorKind::usage, in.string(), "is a folder; its outputs need a place",
                    "pass -o FOLDER");
      }
      for (const fs::path& f : images_in(in, req.recursive, req.output)) {
        jobs.push_back({f, *req.output / output_name(fs::relative(f, in), req.format), {}});
      }
    } else if (!req.output) {
      jobs.push_back({in, sibling_output(in, req.format), {}});
    } else if (output_is_dir) {
      jobs.push_back({in, *req.output / output_name(in.filename(), req.format), {}});
    } else {
      jobs.push_back({in, *req.output, {}});
    }
  }
  if (jobs.empty()) {
    const bool hint_r = !req.recursive && images_below(req.inputs);
    throw Error(ErrorKind::usage, req.inputs.front().string(), "no images found",
                hint_r ? "its sub-folders hold images: pass -r to look inside them"
                       : "hires reads .jpg .png .webp .tif .gif .heic .avif");
  }

  // Results of an earlier run beside their originals (`hires *.png` twice) are not inputs.
  if (!req.output) {
    std::map<fs::path, const Job*> sibling_outputs;
    for (const Job& j : jobs) sibling_outputs.emplace(canonical_key(j.output), &j);
    for (Job& j : jobs) {
      auto it = sibling_outputs.find(canonical_key(j.input));
      if (it != sibling_outputs.end() && it->second != &j &&
          j.input.stem().string().ends_with("-hires")) {
        j.skip = fmt::format("hires' own result of {}, left out as an input",
                             it->second->input.filename().string());
      }
    }
  }

  // Never write over an input, and never write two results to one file.
  std::set<fs::path> inputs;
  std::set<std::pair<dev_t, ino_t>> input_ids;
  for (const Job& j : jobs) {
    if (!j.skip.empty()) continue;
    inputs.insert(canonical_key(j.input));
    if (auto id = file_id(j.input)) input_ids.insert(*id);
  }
  std::map<fs::path, const Job*> outputs;
  for (const Job& j : jobs) {
    if (!j.skip.empty()) continue;
    const fs::path key = canonical_key(j.output);
    const auto out_id = file_id(j.output);
    if (inputs.count(key) != 0 || (out_id && input_ids.count(*out_id) != 0)) {
      throw Error(ErrorKind::usage, j.output.string(), "is an input file; refusing to overwrite it",
                  "choose another output path");
    }
    auto [it, fresh] = outputs.emplace(key, &j);
    if (!fresh) {
      throw Error(ErrorKind::usage, j.output.string(),
                  fmt::format("would be written twice (from {} and {})", it->second->input.string(),
                              j.input.string()),
                  "give the inputs different names or use separate runs");
    }
  }
  return jobs;
}

void check_jobs(const std::vector<Job>& jobs, const EncodeOptions& encode) {
  for (const Job& j : jobs) {
    const Format f = output_format(j.output, encode.format);
    const auto named = format_from_path(j.output);
    if (named && *named != f) {
      throw Error(ErrorKind::usage, j.output.string(),
                  fmt::format("the extension says {} but -f asks for {}", format_name(*named),
                              format_name(f)),
                  "make them agree");
    }
    if (encode.max_bytes > 0 && f != Format::jpeg && f != Format::webp && f != Format::avif) {
      throw Error(
          ErrorKind::usage, "max_bytes",
          fmt::format("{} is lossless, so its size cannot be traded for quality", format_name(f)),
          "write jpg, webp or avif, e.g. `format` jpg");
    }
  }
}

BatchSummary run_jobs(const std::vector<Job>& jobs, const UpscaleOptions& options,
                      const JobEventFn& on_event) {
  BatchSummary summary;
  const std::size_t total = jobs.size();
  auto emit = [&](const JobEvent& e) {
    if (on_event) on_event(e);
  };
  for (std::size_t i = 0; i < total; ++i) {
    const Job& job = jobs[i];
    JobEvent base;
    base.index = i;
    base.total = total;
    base.job = &job;
    std::error_code ec;
    if (!job.skip.empty()) {
      ++summary.skipped;
      JobEvent e = base;
      e.type = JobEvent::Type::skipped;
      e.message = job.skip;
      emit(e);
      continue;
    }
    if (!fs::exists(job.input, ec)) {
      // A missing input is an error even when an old output is still there.
      ++summary.failed;
      JobEvent begun = base;
      begun.type = JobEvent::Type::start;
      emit(begun);
      JobEvent e = base;
      e.type = JobEvent::Type::error;
      e.message = job.input.string() + ": no such file";
      summary.failures.emplace_back(job.input, e.message);
      emit(e);
      continue;
    }
    if (!options.overwrite && fs::exists(job.output, ec)) {
      ++summary.skipped;
      JobEvent e = base;
      e.type = JobEvent::Type::skipped;
      e.message = "output exists (pass `overwrite` to replace it)";
      emit(e);
      continue;
    }
    JobEvent start = base;
    start.type = JobEvent::Type::start;
    emit(start);
    const auto t0 = std::chrono::steady_clock::now();
    auto seconds = [&] {
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    try {
      ProgressFn progress;
      if (on_event) {
        progress = [&](double f) {
          JobEvent e = base;
          e.type = JobEvent::Type::progress;
          e.fraction = f;
          on_event(e);
        };
      }
      const FileResult r = upscale_file(job.input, job.output, options, progress);
      ++summary.done;
      JobEvent e = base;
      e.type = JobEvent::Type::done;
      e.result = &r;
      e.seconds = seconds();
      emit(e);
    } catch (const std::exception& ex) {
      ++summary.failed;
      summary.failures.emplace_back(job.input, ex.what());
      JobEvent e = base;
      e.type = JobEvent::Type::error;
      e.message = ex.what();
      e.seconds = seconds();
      emit(e);
    }
  }
  return summary;
}

}  // namespace hires
