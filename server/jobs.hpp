// The web app's work queue: full runs (at most N at once, the rest wait their turn) and
// previews (their own lane, so a preview shows while a long run goes on). Each job is one or
// more upscale_file calls; progress, ETA and cancel per job.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "hires/hires.hpp"
#include "store.hpp"

namespace hires::server {

enum class JobState { queued, running, done, failed, cancelled };
std::string_view job_state_name(JobState s);

struct Task {
  UpscaleOptions options;
  std::filesystem::path output;
  std::string label;          // what the page shows: "restore-x4 @ 0.5", "auto"
  std::string download_name;  // "photo-hires.png"
};

struct JobOutput {
  std::filesystem::path path;
  std::string label;
  std::string download_name;
  FileResult result;
  std::string error;  // this task failed (a preview variant); the others may still be fine
};

struct Job {
  std::string id;
  bool preview = false;
  std::shared_ptr<StoredImage> image;
  std::vector<Task> tasks;
  std::shared_ptr<std::atomic<bool>> cancel = std::make_shared<std::atomic<bool>>(false);

  // Guarded by JobQueue's mutex.
  JobState state = JobState::queued;
  double progress = 0;  // 0..1 over all tasks
  Clock::time_point queued_at = Clock::now();
  Clock::time_point started;
  Clock::time_point finished;
  std::string error;
  std::vector<JobOutput> outputs;
};

// What a job is at one moment (copied under the queue's lock).
struct JobSnapshot {
  JobState state = JobState::queued;
  std::vector<JobOutput> outputs;
};

class JobQueue {
 public:
  // `runs`: full runs at once (at least 1); previews get one more worker of their own.
  explicit JobQueue(int runs);
  ~JobQueue();  // cancels what is queued or running and waits for the workers
  JobQueue(const JobQueue&) = delete;
  JobQueue& operator=(const JobQueue&) = delete;

  void submit(const std::shared_ptr<Job>& job);
  std::shared_ptr<Job> find(const std::string& id);
  JobSnapshot snapshot(const Job& job);
  // Asks a job to stop; false when there is no such job.
  bool cancel(const std::string& id);
  // {"id","state","progress","eta_seconds","seconds","error","outputs":[...]}
  std::string status_json(const Job& job);
  // Forgets finished jobs older than `age`.
  void forget_older_than(std::chrono::seconds age);

 private:
  void work(bool previews);
  void run(Job& job);

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::deque<std::shared_ptr<Job>> runs_, previews_;
  std::map<std::string, std::shared_ptr<Job>> jobs_;
  std::vector<std::thread> workers_;
};

}  // namespace hires::server
