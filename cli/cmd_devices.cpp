// `hires devices`: the Vulkan devices a model can run on (--backend vulkan --gpu N), with type
// and memory, and which one --backend auto would use.
#include <fmt/format.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "hires/devices.hpp"

namespace hires::cli {

Command add_devices_command(CLI::App& app) {
  auto as_json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("devices", "List the GPUs (Vulkan devices) for --gpu");
  cmd->add_flag("--json", *as_json, "As JSON");
  return {cmd, [as_json] {
            const GpuList gpus = list_gpus();
            if (*as_json) {
              nlohmann::json list = nlohmann::json::array();
              for (const GpuDevice& d : gpus.devices) {
                list.push_back({{"index", d.index},
                                {"name", d.name},
                                {"type", d.type},
                                {"memory_bytes", d.memory_bytes},
                                {"max_buffer_bytes", d.max_buffer_bytes},
                                {"vulkan", d.api_version},
                                {"fp16_storage", d.fp16_storage},
                                {"auto", d.chosen_by_auto}});
              }
              nlohmann::json out{{"vulkan_built", gpus.vulkan_built}, {"devices", list}};
              if (!gpus.note.empty()) out["note"] = gpus.note;
              std::cout << out.dump(2) << '\n';
              return 0;
            }
            if (gpus.devices.empty()) {
              fmt::print("no Vulkan device: {}\n", gpus.note);
              return 0;
            }
            // FP16: 16-bit storage, which the backend uses for values on a real GPU.
            fmt::print("{:<4} {:<11} {:>9} {:<8} {:<4} {}\n", "GPU", "TYPE", "MEMORY", "VULKAN",
                       "FP16", "NAME");
            for (const GpuDevice& d : gpus.devices) {
              fmt::print("{:<4} {:<11} {:>5.1f} GiB {:<8} {:<4} {}{}\n", d.index, d.type,
                         static_cast<double>(d.memory_bytes) / (1024.0 * 1024.0 * 1024.0),
                         d.api_version, d.fp16_storage ? "yes" : "no", d.name,
                         d.chosen_by_auto ? "" : "  (software or other: --backend vulkan only)");
            }
            return 0;
          }};
}

}  // namespace hires::cli
