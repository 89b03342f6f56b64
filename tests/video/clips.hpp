// Short clips made with libav* encoders for the video tests, and a probe that reads back what a
// clip holds (streams, packets, frame timestamps, colour tags, rotation, metadata).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace hires::test {

struct ClipSpec {
  int width = 64;
  int height = 48;
  int frames = 12;
  int fps = 24;
  std::string encoder = "libx264";  // or "ffv1", "mpeg4"
  bool vfr = false;                 // frame durations alternate 1/fps and 2/fps
  double rotation = 0;              // degrees, as a display matrix
  int audio_tracks = 0;             // AAC sine tracks
  bool subtitles = false;           // a SubRip stream (Matroska)
  bool bt709 = true;                // colour tags BT.709, limited range
  bool metadata = true;             // title and creation_time
  int sar_num = 1, sar_den = 1;     // sample aspect ratio
  bool ten_bit = false;             // yuv420p10 (with ffv1 or libx264)
  bool still = false;               // the square stays put (a static scene)
  int flicker = 0;                  // luma levels added on odd frames, taken on even ones
};

// Writes a clip of a moving square over gradients; the container comes from the extension.
void make_clip(const std::filesystem::path& path, const ClipSpec& spec);

struct StreamProbe {
  std::string type;  // "video", "audio", "subtitle"
  std::string codec;
  std::string pixel_format;  // video: "yuv420p10le"
  int width = 0, height = 0;
  int sar_num = 0, sar_den = 1;
  int primaries = 0, transfer = 0, matrix = 0, range = 0;
  double rotation = 0;
  std::vector<std::string> packets;  // payloads, in file order
  std::vector<double> packet_times;  // seconds
};

struct ClipProbe {
  std::vector<StreamProbe> streams;
  std::map<std::string, std::string> metadata;
  std::vector<double> frame_times;  // decoded video frames, seconds, presentation order
  double duration = 0;              // the container's, seconds
  double start_time = 0;            // the container's, seconds
  const StreamProbe* first(const std::string& type) const;
};

ClipProbe probe_clip(const std::filesystem::path& path);

}  // namespace hires::test
