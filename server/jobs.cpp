#include "jobs.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "hires/error.hpp"
#include "options_json.hpp"

namespace hires::server {
namespace {

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace

std::string_view job_state_name(JobState s) {
  switch (s) {
    case JobState::queued:
      return "queued";
    case JobState::running:
      return "running";
    case JobState::done:
      return "done";
    case JobState::failed:
      return "failed";
    case JobState::cancelled:
      return "cancelled";
  }
  return "unknown";
}

JobQueue::JobQueue(int runs) {
  for (int i = 0; i < std::max(1, runs); ++i) workers_.emplace_back([this] { work(false); });
  workers_.emplace_back([this] { work(true); });
}

JobQueue::~JobQueue() {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    for (auto& [id, job] : jobs_) job->cancel->store(true);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void JobQueue::submit(const std::shared_ptr<Job>& job) {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    jobs_[job->id] = job;
    (job->preview ? previews_ : runs_).push_back(job);
  }
  wake_.notify_all();
}

std::shared_ptr<Job> JobQueue::find(const std::string& id) {
  const std::lock_guard<std::mutex> lock(mutex_);
  const auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : it->second;
}

JobSnapshot JobQueue::snapshot(const Job& job) {
  const std::lock_guard<std::mutex> lock(mutex_);
  return {job.state, job.outputs};
}

bool JobQueue::cancel(const std::string& id) {
  const std::lock_guard<std::mutex> lock(mutex_);
  const auto it = jobs_.find(id);
  if (it == jobs_.end()) return false;
  Job& job = *it->second;
  job.cancel->store(true);
  if (job.state == JobState::queued) {
    job.state = JobState::cancelled;
    job.finished = Clock::now();
  }
  return true;
}

void JobQueue::forget_older_than(std::chrono::seconds age) {
  const std::lock_guard<std::mutex> lock(mutex_);
  const auto now = Clock::now();
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    const Job& job = *it->second;
    const bool over = job.state != JobState::queued && job.state != JobState::running;
    it = over && now - job.finished > age ? jobs_.erase(it) : std::next(it);
  }
}

std::string JobQueue::status_json(const Job& job) {
  const std::lock_guard<std::mutex> lock(mutex_);
  const auto now = Clock::now();
  nlohmann::json j{{"id", job.id},
                   {"preview", job.preview},
                   {"image", job.image->id},
                   {"state", job_state_name(job.state)},
                   {"progress", job.progress}};
  if (job.state == JobState::running) {
    const double elapsed = seconds_between(job.started, now);
    j["seconds"] = elapsed;
    // An ETA once there is something to go by.
    if (job.progress >= 0.02) j["eta_seconds"] = elapsed * (1 - job.progress) / job.progress;
  } else if (job.state != JobState::queued) {
    j["seconds"] = seconds_between(job.started, job.finished);
  }
  if (!job.error.empty()) j["error"] = job.error;
  nlohmann::json outputs = nlohmann::json::array();
  for (std::size_t i = 0; i < job.outputs.size(); ++i) {
    const JobOutput& o = job.outputs[i];
    nlohmann::json out{{"label", o.label}};
    if (!o.error.empty()) {
      out["error"] = o.error;
    } else {
      out["url"] = "/api/jobs/" + job.id + "/outputs/" + std::to_string(i);
      out["download_name"] = o.download_name;
      out["width"] = o.result.out_size.width;
      out["height"] = o.result.out_size.height;
      out["bytes"] = o.result.bytes;
      out["model"] = o.result.model;
      out["reason"] = o.result.reason;
      out["notices"] = field_texts(o.result.notices);
      out["engine"] = o.result.engine;
      if (o.result.quality > 0) out["quality"] = o.result.quality;
    }
    outputs.push_back(out);
  }
  j["outputs"] = outputs;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void JobQueue::work(bool previews) {
  auto& lane = previews ? previews_ : runs_;
  for (;;) {
    std::shared_ptr<Job> job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !lane.empty(); });
      if (stopping_) return;
      job = lane.front();
      lane.pop_front();
      if (job->state != JobState::queued) continue;  // cancelled while it waited
      job->state = JobState::running;
      job->started = Clock::now();
    }
    run(*job);
  }
}

void JobQueue::run(Job& job) {
  ++job.image->busy;
  const std::size_t n = job.tasks.size();
  std::string failure;
  bool cancelled = false;
  std::vector<JobOutput> outputs;
  for (std::size_t i = 0; i < n && !cancelled; ++i) {
    Task& task = job.tasks[i];
    task.options.cancel = job.cancel;
    JobOutput out{task.output, task.label, task.download_name, {}, {}};
    const auto progress = [this, &job, i, n](double f) {
      const std::lock_guard<std::mutex> lock(mutex_);
      job.progress = std::max(job.progress, (static_cast<double>(i) + f) / static_cast<double>(n));
    };
    try {
      out.result = upscale_file(job.image->path, task.output, task.options, progress);
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::cancelled) {
        cancelled = true;
      } else {
        // The message names the file by its upload name, not the store's path.
        out.error =
            field_text(e.hint().empty() ? e.problem() : e.problem() + " (" + e.hint() + ")");
        if (failure.empty()) failure = job.image->name + ": " + out.error;
      }
    } catch (const std::exception& e) {
      out.error = std::string("internal error: ") + e.what();
      if (failure.empty()) failure = job.image->name + ": " + out.error;
    }
    outputs.push_back(std::move(out));
  }
  --job.image->busy;
  const std::lock_guard<std::mutex> lock(mutex_);
  job.outputs = std::move(outputs);
  job.finished = Clock::now();
  if (cancelled || job.cancel->load()) {
    job.state = JobState::cancelled;
  } else if (!failure.empty() && std::all_of(job.outputs.begin(), job.outputs.end(),
                                             [](const JobOutput& o) { return !o.error.empty(); })) {
    job.state = JobState::failed;
    job.error = failure;
  } else {
    job.state = JobState::done;
    job.progress = 1;
  }
}

}  // namespace hires::server
