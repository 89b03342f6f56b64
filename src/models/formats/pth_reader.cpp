#include "models/formats/pth_reader.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/checked.hpp"
#include "hires/error.hpp"
#include "models/formats/zip_reader.hpp"

namespace hires::models {
namespace {

namespace fs = std::filesystem;

// Limits that keep a hostile file from exhausting memory. A state dict's pickle is ~100 bytes
// and ~20 objects per tensor; converted tensors may share storages (views, tied weights), but not
// add up to more than 4 values per byte of the file.
constexpr std::size_t kMaxPickleBytes = 64ULL * 1024 * 1024;
constexpr std::size_t kMaxObjects = 4'000'000;
constexpr std::uint64_t kMaxValuesPerFileByte = 4;
// What the storages may inflate to in all: 4 values of at most 8 bytes per byte of the file. A
// member that declares more is refused before inflating (a 3.9 MB file once inflated 4 GB).
constexpr std::uint64_t kMaxStorageBytesPerFileByte = kMaxValuesPerFileByte * 8;
constexpr std::uint64_t kMaxByteOrderBytes = 16;
const char* kStoragesLimit = "the tensor storages (32 bytes per byte of the file in all)";
constexpr std::size_t kMaxGlobalName = 256;

const char* kRefusedHint =
    "a model file may hold only tensors, numbers, strings and dicts; hires never runs code from a "
    "model file";
const char* kCorruptHint = "the file is truncated or corrupt";

enum class DType { f32, f16, bf16, f64, i64, i32 };

struct StorageType {
  const char* name;  // in module torch
  DType type;
  int size;
};

constexpr std::array<StorageType, 6> kStorageTypes = {{
    {"FloatStorage", DType::f32, 4},
    {"HalfStorage", DType::f16, 2},
    {"BFloat16Storage", DType::bf16, 2},
    {"DoubleStorage", DType::f64, 8},
    {"LongStorage", DType::i64, 8},
    {"IntStorage", DType::i32, 4},
}};

enum class Kind {
  none,
  boolean,
  integer,
  real,
  string,
  tuple,
  list,
  dict,
  global,
  storage,
  tensor
};

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::none:
      return "None";
    case Kind::boolean:
      return "bool";
    case Kind::integer:
      return "int";
    case Kind::real:
      return "float";
    case Kind::string:
      return "str";
    case Kind::tuple:
      return "tuple";
    case Kind::list:
      return "list";
    case Kind::dict:
      return "dict";
    case Kind::global:
      return "global";
    case Kind::storage:
      return "storage";
    case Kind::tensor:
      return "tensor";
  }
  return "?";
}

enum class Callable { ordered_dict, rebuild_tensor_v2, rebuild_parameter, storage_type };

// One unpickled object. Objects live in an arena and refer to each other by index, so shared and
// even cyclic references (the memo allows them) need no ownership and nothing recurses.
struct Obj {
  Kind kind = Kind::none;
  std::int64_t i = 0;      // integer, boolean; storage: element count
  double f = 0;            // real
  std::string s;           // string; global: "module.name"; storage: key
  std::vector<int> items;  // tuple, list: elements; dict: key, value, key, value, ...
  Callable callable = Callable::ordered_dict;  // global
  std::size_t dtype = 0;                       // global storage type, storage: kStorageTypes index
  int storage = -1;                            // tensor
  std::int64_t offset = 0;                     // tensor, in elements
  std::vector<std::int64_t> shape;             // tensor
  std::vector<std::int64_t> stride;            // tensor
};

struct OpcodeName {
  std::uint8_t op;
  const char* name;
};

// Every pickle opcode (protocols 0-5), for messages about the ones refused.
constexpr OpcodeName kOpcodeNames[] = {{'(', "MARK"},
                                       {'.', "STOP"},
                                       {'0', "POP"},
                                       {'1', "POP_MARK"},
                                       {'2', "DUP"},
                                       {'F', "FLOAT"},
                                       {'I', "INT"},
                                       {'J', "BININT"},
                                       {'K', "BININT1"},
                                       {'L', "LONG"},
                                       {'M', "BININT2"},
                                       {'N', "NONE"},
                                       {'P', "PERSID"},
                                       {'Q', "BINPERSID"},
                                       {'R', "REDUCE"},
                                       {'S', "STRING"},
                                       {'T', "BINSTRING"},
                                       {'U', "SHORT_BINSTRING"},
                                       {'V', "UNICODE"},
                                       {'X', "BINUNICODE"},
                                       {'a', "APPEND"},
                                       {'b', "BUILD"},
                                       {'c', "GLOBAL"},
                                       {'d', "DICT"},
                                       {'}', "EMPTY_DICT"},
                                       {'e', "APPENDS"},
                                       {'g', "GET"},
                                       {'h', "BINGET"},
                                       {'i', "INST"},
                                       {'j', "LONG_BINGET"},
                                       {'l', "LIST"},
                                       {']', "EMPTY_LIST"},
                                       {'o', "OBJ"},
                                       {'p', "PUT"},
                                       {'q', "BINPUT"},
                                       {'r', "LONG_BINPUT"},
                                       {'s', "SETITEM"},
                                       {'t', "TUPLE"},
                                       {')', "EMPTY_TUPLE"},
                                       {'u', "SETITEMS"},
                                       {'G', "BINFLOAT"},
                                       {'B', "BINBYTES"},
                                       {'C', "SHORT_BINBYTES"},
                                       {0x80, "PROTO"},
                                       {0x81, "NEWOBJ"},
                                       {0x82, "EXT1"},
                                       {0x83, "EXT2"},
                                       {0x84, "EXT4"},
                                       {0x85, "TUPLE1"},
                                       {0x86, "TUPLE2"},
                                       {0x87, "TUPLE3"},
                                       {0x88, "NEWTRUE"},
                                       {0x89, "NEWFALSE"},
                                       {0x8a, "LONG1"},
                                       {0x8b, "LONG4"},
                                       {0x8c, "SHORT_BINUNICODE"},
                                       {0x8d, "BINUNICODE8"},
                                       {0x8e, "BINBYTES8"},
                                       {0x8f, "EMPTY_SET"},
                                       {0x90, "ADDITEMS"},
                                       {0x91, "FROZENSET"},
                                       {0x92, "NEWOBJ_EX"},
                                       {0x93, "STACK_GLOBAL"},
                                       {0x94, "MEMOIZE"},
                                       {0x95, "FRAME"},
                                       {0x96, "BYTEARRAY8"},
                                       {0x97, "NEXT_BUFFER"},
                                       {0x98, "READONLY_BUFFER"}};

const char* opcode_name(std::uint8_t op) {
  for (const auto& o : kOpcodeNames) {
    if (o.op == op) return o.name;
  }
  return "unknown";
}

// Builds data from a pickle; the only "calls" are the few allow-listed constructors, interpreted
// here as data (a dict, a tensor description), never looked up or run.
class Unpickler {
 public:
  Unpickler(std::string file, std::string entry, const std::vector<std::uint8_t>& data)
      : file_(std::move(file)), entry_(std::move(entry)), data_(data) {}

  int run();
  const Obj& at(int id) const { return objs_[static_cast<std::size_t>(id)]; }

  [[noreturn]] void fail(const std::string& problem) const {
    throw Error(ErrorKind::input, file_,
                fmt::format("pickle '{}' at byte {}: {}", entry_, op_pos_, problem), kCorruptHint);
  }

 private:
  [[noreturn]] void refuse(const std::string& what) const {
    throw Error(ErrorKind::input, file_, fmt::format("refused to load: {}", what), kRefusedHint);
  }
  std::uint64_t take(int n) {
    if (data_.size() - pos_ < static_cast<std::size_t>(n)) fail("the pickle is cut short");
    std::uint64_t v = 0;
    for (int k = n - 1; k >= 0; --k) v = (v << 8) | data_[pos_ + static_cast<std::size_t>(k)];
    pos_ += static_cast<std::size_t>(n);
    return v;
  }
  std::string take_string(std::uint64_t n) {
    if (data_.size() - pos_ < n) fail("the pickle is cut short");
    std::string s(reinterpret_cast<const char*>(data_.data() + pos_), static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return s;
  }
  std::string take_line() {
    std::string s;
    while (true) {
      if (pos_ >= data_.size()) fail("the pickle is cut short");
      const char c = static_cast<char>(data_[pos_++]);
      if (c == '\n') return s;
      if (s.size() == kMaxGlobalName) fail("a global's name is too long");
      s.push_back(c);
    }
  }
  int make(Obj o) {
    if (objs_.size() == kMaxObjects) fail("the pickle builds too many objects for a state dict");
    objs_.push_back(std::move(o));
    return static_cast<int>(objs_.size() - 1);
  }
  int make_int(std::int64_t v, Kind k = Kind::integer) {
    Obj o;
    o.kind = k;
    o.i = v;
    return make(std::move(o));
  }
  void push(int id) { stack_.push_back(id); }
  int pop() {
    if (stack_.size() <= floor()) fail("the stack is empty");
    const int id = stack_.back();
    stack_.pop_back();
    return id;
  }
  int top() const {
    if (stack_.size() <= floor()) fail("the stack is empty");
    return stack_.back();
  }
  std::size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  std::vector<int> pop_mark() {
    if (marks_.empty()) fail("no MARK to pop to");
    const std::size_t m = marks_.back();
    marks_.pop_back();
    std::vector<int> items(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
    stack_.resize(m);
    return items;
  }
  Obj& expect(int id, Kind k, const char* what) {
    Obj& o = objs_[static_cast<std::size_t>(id)];
    if (o.kind != k)
      fail(fmt::format("{} is a {}, expected a {}", what, kind_name(o.kind), kind_name(k)));
    return o;
  }
  void memo_put(std::uint64_t index) { memo_[index] = top(); }
  void memo_get(std::uint64_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) fail(fmt::format("memo entry {} is not set", index));
    push(it->second);
  }
  int tuple_of(std::vector<int> items) {
    Obj o;
    o.kind = Kind::tuple;
    o.items = std::move(items);
    return make(std::move(o));
  }
  void global(const std::string& module, const std::string& name);
  void persistent_id();
  void reduce();
  int rebuild_tensor(const std::vector<int>& args);
  std::vector<std::int64_t> int_tuple(int id, const char* what);

  std::string file_;
  std::string entry_;
  const std::vector<std::uint8_t>& data_;
  std::size_t pos_ = 0;
  std::size_t op_pos_ = 0;
  std::vector<Obj> objs_;
  std::vector<int> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint64_t, int> memo_;
};

void Unpickler::global(const std::string& module, const std::string& name) {
  Obj o;
  o.kind = Kind::global;
  o.s = module + "." + name;
  if (module == "collections" && name == "OrderedDict") {
    o.callable = Callable::ordered_dict;
  } else if (module == "torch._utils" && name == "_rebuild_tensor_v2") {
    o.callable = Callable::rebuild_tensor_v2;
  } else if (module == "torch._utils" &&
             (name == "_rebuild_parameter" || name == "_rebuild_parameter_with_state")) {
    o.callable = Callable::rebuild_parameter;
  } else {
    const auto* it =
        std::find_if(kStorageTypes.begin(), kStorageTypes.end(),
                     [&](const StorageType& t) { return module == "torch" && name == t.name; });
    if (it == kStorageTypes.end()) {
      refuse(fmt::format("the pickle in '{}' asks for '{}', which is not allowed", entry_, o.s));
    }
    o.callable = Callable::storage_type;
    o.dtype = static_cast<std::size_t>(it - kStorageTypes.begin());
  }
  push(make(std::move(o)));
}

// torch.save's persistent id: ('storage', storage_type, key, location, numel).
void Unpickler::persistent_id() {
  const Obj& pid = expect(pop(), Kind::tuple, "the persistent id");
  if (pid.items.size() != 5) fail("the persistent id is not a 5-tuple");
  const std::vector<int> f = pid.items;
  if (expect(f[0], Kind::string, "the persistent id's tag").s != "storage") {
    fail("the persistent id is not a storage");
  }
  const Obj& type = expect(f[1], Kind::global, "the storage type");
  if (type.callable != Callable::storage_type) fail("the storage type is not a storage");
  Obj o;
  o.kind = Kind::storage;
  o.dtype = type.dtype;
  o.s = expect(f[2], Kind::string, "the storage key").s;
  expect(f[3], Kind::string, "the storage location");
  o.i = expect(f[4], Kind::integer, "the storage size").i;
  if (o.i < 0) fail("the storage size is negative");
  push(make(std::move(o)));
}

std::vector<std::int64_t> Unpickler::int_tuple(int id, const char* what) {
  const Obj& t = expect(id, Kind::tuple, what);
  std::vector<std::int64_t> out;
  for (int item : t.items) {
    const std::int64_t v = expect(item, Kind::integer, what).i;
    if (v < 0) fail(fmt::format("{} has a negative entry", what));
    out.push_back(v);
  }
  return out;
}

// _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks
// [, metadata]): only the geometry matters here.
int Unpickler::rebuild_tensor(const std::vector<int>& args) {
  if (args.size() < 4 || args.size() > 7) fail("_rebuild_tensor_v2 has the wrong arguments");
  expect(args[0], Kind::storage, "the tensor's storage");
  Obj o;
  o.kind = Kind::tensor;
  o.storage = args[0];
  o.offset = expect(args[1], Kind::integer, "the storage offset").i;
  if (o.offset < 0) fail("the storage offset is negative");
  o.shape = int_tuple(args[2], "the tensor size");
  o.stride = int_tuple(args[3], "the tensor stride");
  if (o.shape.size() != o.stride.size()) fail("the tensor's size and stride differ in length");
  return make(std::move(o));
}

void Unpickler::reduce() {
  const std::vector<int> args = expect(pop(), Kind::tuple, "REDUCE's arguments").items;
  const int callable_id = pop();
  const Obj& callable = at(callable_id);
  if (callable.kind != Kind::global) {
    refuse(fmt::format("the pickle in '{}' calls a {}", entry_, kind_name(callable.kind)));
  }
  switch (callable.callable) {
    case Callable::ordered_dict: {
      if (!args.empty()) fail("OrderedDict is given arguments");
      Obj o;
      o.kind = Kind::dict;
      push(make(std::move(o)));
      return;
    }
    case Callable::rebuild_tensor_v2:
      push(rebuild_tensor(args));
      return;
    case Callable::rebuild_parameter:
      if (args.empty()) fail("_rebuild_parameter has no arguments");
      expect(args[0], Kind::tensor, "the parameter's data");
      push(args[0]);
      return;
    case Callable::storage_type:
      break;
  }
  refuse(fmt::format("the pickle in '{}' calls '{}'", entry_, callable.s));
}

int Unpickler::run() {
  if (data_.size() > kMaxPickleBytes) fail("the pickle is too large for a state dict");
  while (true) {
    op_pos_ = pos_;
    const auto op = static_cast<std::uint8_t>(take(1));
    switch (op) {
      case 0x80:  // PROTO
        if (take(1) > 5) fail("unknown pickle protocol");
        break;
      case 0x95:  // FRAME: a length hint only
        take(8);
        break;
      case '.': {  // STOP
        const int result = pop();
        return result;
      }
      case '(':
        marks_.push_back(stack_.size());
        break;
      case '0':
        pop();
        break;
      case '1':
        pop_mark();
        break;
      case '2':
        push(top());
        break;
      case '}':
      case ']':
      case ')': {
        Obj o;
        o.kind = op == '}' ? Kind::dict : (op == ']' ? Kind::list : Kind::tuple);
        push(make(std::move(o)));
        break;
      }
      case 'q':
        memo_put(take(1));
        break;
      case 'r':
        memo_put(take(4));
        break;
      case 0x94:  // MEMOIZE
        memo_put(memo_.size());
        break;
      case 'h':
        memo_get(take(1));
        break;
      case 'j':
        memo_get(take(4));
        break;
      case 'X':
      case 0x8c:
      case 0x8d: {  // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
        Obj o;
        o.kind = Kind::string;
        o.s = take_string(take(op == 'X' ? 4 : (op == 0x8c ? 1 : 8)));
        push(make(std::move(o)));
        break;
      }
      case 'J':
        push(make_int(static_cast<std::int32_t>(static_cast<std::uint32_t>(take(4)))));
        break;
      case 'K':
        push(make_int(static_cast<std::int64_t>(take(1))));
        break;
      case 'M':
        push(make_int(static_cast<std::int64_t>(take(2))));
        break;
      case 0x8a: {  // LONG1: little-endian two's complement of n bytes
        const auto n = static_cast<int>(take(1));
        if (n > 8) fail("an integer is too large");
        std::uint64_t v = n == 0 ? 0 : take(n);
        if (n > 0 && n < 8 && (v >> (8 * n - 1)) != 0) v |= ~0ULL << (8 * n);  // sign-extend
        push(make_int(static_cast<std::int64_t>(v)));
        break;
      }
      case 0x88:
      case 0x89:
        push(make_int(op == 0x88 ? 1 : 0, Kind::boolean));
        break;
      case 'N':
        push(make(Obj{}));
        break;
      case 'G': {  // BINFLOAT: big-endian IEEE double
        std::uint64_t bits = 0;
        for (int k = 0; k < 8; ++k) bits = (bits << 8) | take(1);
        Obj o;
        o.kind = Kind::real;
        o.f = std::bit_cast<double>(bits);
        push(make(std::move(o)));
        break;
      }
      case 't':
        push(tuple_of(pop_mark()));
        break;
      case 0x85:
      case 0x86:
      case 0x87: {  // TUPLE1..3
        std::vector<int> items(static_cast<std::size_t>(op - 0x84));
        for (auto it = items.rbegin(); it != items.rend(); ++it) *it = pop();
        push(tuple_of(std::move(items)));
        break;
      }
      case 'a': {
        const int v = pop();
        expect(top(), Kind::list, "APPEND's target").items.push_back(v);
        break;
      }
      case 'e': {
        std::vector<int> items = pop_mark();
        auto& list = expect(top(), Kind::list, "APPENDS' target").items;
        list.insert(list.end(), items.begin(), items.end());
        break;
      }
      case 's': {
        const int v = pop();
        const int k = pop();
        auto& dict = expect(top(), Kind::dict, "SETITEM's target").items;
        dict.push_back(k);
        dict.push_back(v);
        break;
      }
      case 'u': {
        std::vector<int> items = pop_mark();
        if (items.size() % 2 != 0) fail("SETITEMS has an odd number of items");
        auto& dict = expect(top(), Kind::dict, "SETITEMS' target").items;
        dict.insert(dict.end(), items.begin(), items.end());
        break;
      }
      case 'c': {
        const std::string module = take_line();
        const std::string name = take_line();
        global(module, name);
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        const std::string name = expect(pop(), Kind::string, "STACK_GLOBAL's name").s;
        const std::string module = expect(pop(), Kind::string, "STACK_GLOBAL's module").s;
        global(module, name);
        break;
      }
      case 'Q':
        persistent_id();
        break;
      case 'R':
        reduce();
        break;
      case 'b': {  // BUILD: state for an OrderedDict (its _metadata) or a tensor is not needed
        pop();
        const Obj& target = at(top());
        if (target.kind != Kind::dict && target.kind != Kind::tensor) {
          fail(fmt::format("BUILD on a {}", kind_name(target.kind)));
        }
        break;
      }
      default:
        refuse(fmt::format("pickle opcode {} (0x{:02x}) at byte {} of '{}' is not allowed",
                           opcode_name(op), op, op_pos_, entry_));
    }
  }
}

// The record prefix: "<prefix>/data.pkl" with one folder level (torch uses the archive name).
std::string find_prefix(const ZipArchive& zip) {
  std::optional<std::string> best;
  for (const auto& e : zip.entries()) {
    constexpr std::string_view kPkl = "data.pkl";
    if (e.name.size() < kPkl.size() || !e.name.ends_with(kPkl)) continue;
    std::string prefix = e.name.substr(0, e.name.size() - kPkl.size());
    if (!prefix.empty() && (prefix.back() != '/' || prefix.find('/') != prefix.size() - 1)) {
      continue;
    }
    if (!best || prefix.size() < best->size()) best = std::move(prefix);
  }
  if (!best) {
    throw Error(ErrorKind::input, zip.path().string(),
                "zip archive without data.pkl: not a PyTorch checkpoint",
                "expected a file written by torch.save");
  }
  return *best;
}

float element(const std::uint8_t* p, const StorageType& type, bool swap) {
  std::array<std::uint8_t, 8> b{};
  const int n = type.size;
  for (int k = 0; k < n; ++k) b[static_cast<std::size_t>(k)] = p[swap ? n - 1 - k : k];
  auto u16 = [&] { return static_cast<std::uint16_t>(b[0] | (b[1] << 8)); };
  switch (type.type) {
    case DType::f32: {
      float f = 0;
      std::memcpy(&f, b.data(), 4);
      return f;
    }
    case DType::f16:
      return half_to_float(u16());
    case DType::bf16:
      return bf16_to_float(u16());
    case DType::f64: {
      double d = 0;
      std::memcpy(&d, b.data(), 8);
      return static_cast<float>(d);
    }
    case DType::i64: {
      std::int64_t v = 0;
      std::memcpy(&v, b.data(), 8);
      return static_cast<float>(v);
    }
    case DType::i32: {
      std::int32_t v = 0;
      std::memcpy(&v, b.data(), 4);
      return static_cast<float>(v);
    }
  }
  return 0.0F;
}

// Looks a string key up in a dict object (the last setting wins, as in Python).
std::optional<int> dict_get(const Unpickler& u, const Obj& dict, std::string_view key) {
  std::optional<int> found;
  for (std::size_t k = 0; k + 1 < dict.items.size(); k += 2) {
    const Obj& name = u.at(dict.items[k]);
    if (name.kind == Kind::string && name.s == key) found = dict.items[k + 1];
  }
  return found;
}

}  // namespace

namespace {

// Without `with_values` the tensors keep only their shapes and no storage is read.
PthCheckpoint read_pth(const fs::path& path, bool with_values) {
  const std::string file = path.string();
  std::error_code ec;
  const std::uint64_t file_size = fs::file_size(path, ec);
  std::vector<std::uint8_t> head(4);
  std::ifstream in(path, std::ios::binary);
  if (ec || !in) throw Error(ErrorKind::input, file, "cannot open the file");
  head.resize(static_cast<std::size_t>(in.read(reinterpret_cast<char*>(head.data()), 4).gcount()));
  in.close();
  if (!looks_like_zip(head)) {
    if (!head.empty() && head[0] == 0x80) {
      throw Error(ErrorKind::input, file,
                  "legacy PyTorch checkpoint (saved before PyTorch 1.6 or with "
                  "_use_new_zipfile_serialization=False)",
                  "re-save it with a current torch.save, or convert it to .safetensors");
    }
    throw Error(ErrorKind::input, file, "not a PyTorch checkpoint (not a zip archive)",
                "expected a file written by torch.save");
  }
  const std::uint64_t max_values = kMaxValuesPerFileByte * file_size;
  std::uint64_t storage_budget = kMaxStorageBytesPerFileByte * file_size;
  const ZipArchive zip(path);  // reads the directory now, each entry when asked for
  const std::string prefix = find_prefix(zip);
  for (const auto& e : zip.entries()) {
    if (e.name.starts_with(prefix + "code/")) {
      throw Error(ErrorKind::input, file,
                  "a TorchScript archive (torch.jit.save), not a state dict",
                  "save the model's state_dict() with torch.save instead");
    }
  }
  bool swap = false;
  if (const auto* order = zip.find(prefix + "byteorder")) {
    const auto text = zip.read(*order, kMaxByteOrderBytes, "the byte order record");
    const std::string s(text.begin(), text.end());
    if (s == "big") {
      swap = std::endian::native == std::endian::little;
    } else if (s != "little") {
      throw Error(ErrorKind::input, file, fmt::format("unknown byte order '{}'", s), kCorruptHint);
    }
  } else {
    swap = std::endian::native != std::endian::little;
  }
  const std::string pkl_name = prefix + "data.pkl";
  const std::vector<std::uint8_t> pkl =
      zip.read(*zip.find(pkl_name), kMaxPickleBytes, "the pickle of a state dict");
  Unpickler u(file, pkl_name, pkl);
  const Obj& root = u.at(u.run());
  if (root.kind != Kind::dict) {
    throw Error(
        ErrorKind::input, file,
        fmt::format("the checkpoint holds a {}, expected a dict of tensors", kind_name(root.kind)));
  }
  PthCheckpoint out;
  out.path = path;
  const Obj* dict = &root;
  for (const char* wrapper : {"params_ema", "params", "state_dict"}) {
    const auto inner = dict_get(u, root, wrapper);
    if (inner && u.at(*inner).kind == Kind::dict) {
      dict = &u.at(*inner);
      out.wrapper = wrapper;
      break;
    }
  }
  std::unordered_map<std::string, std::vector<std::uint8_t>> storages;
  std::uint64_t total_values = 0;
  for (std::size_t k = 0; k + 1 < dict->items.size(); k += 2) {
    const Obj& key = u.at(dict->items[k]);
    const Obj& value = u.at(dict->items[k + 1]);
    if (key.kind != Kind::string || value.kind != Kind::tensor) continue;
    std::string name = key.s;
    if (name.starts_with("module.")) name.erase(0, 7);
    const Obj& storage = u.at(value.storage);
    const StorageType& type = kStorageTypes[storage.dtype];
    auto tensor_fail = [&](const std::string& problem, const std::string& hint = kCorruptHint) {
      throw Error(ErrorKind::input, file, fmt::format("tensor '{}': {}", key.s, problem), hint);
    };
    const std::string record = prefix + "data/" + storage.s;
    const auto* entry = zip.find(record);
    if (entry == nullptr) tensor_fail(fmt::format("its storage '{}' is missing", record));
    const std::vector<std::uint8_t>* raw = nullptr;
    if (with_values) {
      auto it = storages.find(storage.s);
      if (it == storages.end()) {
        it = storages.emplace(storage.s, zip.read(*entry, storage_budget, kStoragesLimit)).first;
        storage_budget -= it->second.size();
      }
      raw = &it->second;
    }
    // Without the values, the size the archive declares for the storage's record.
    const std::uint64_t stored = raw != nullptr ? raw->size() : entry->size;
    const auto size = static_cast<std::uint64_t>(type.size);
    if (static_cast<std::uint64_t>(storage.i) > stored / size) {
      tensor_fail(fmt::format("its storage holds {} bytes, expected {} {} values", stored,
                              storage.i, type.name));
    }
    const std::int64_t count = element_count(value.shape);
    if (count < 0 || value.offset > storage.i || count > storage.i - value.offset) {
      tensor_fail(fmt::format("size [{}] at offset {} does not fit its storage of {} values",
                              fmt::join(value.shape, ","), value.offset, storage.i));
    }
    std::int64_t expected = 1;
    // A tensor without elements has nothing to lay out (its other sizes may be huge).
    for (std::size_t d = value.shape.size(); count > 0 && d-- > 0;) {
      if (value.shape[d] != 1 && value.stride[d] != expected) {
        tensor_fail(fmt::format("is not contiguous (size [{}], stride [{}])",
                                fmt::join(value.shape, ","), fmt::join(value.stride, ",")),
                    "save contiguous tensors: {k: v.contiguous() for k, v in sd.items()}");
      }
      // count > 0 bounds every partial product, so this cannot overflow; checked all the same.
      expected = core::checked_mul(expected, value.shape[d]).value_or(0);
    }
    total_values += static_cast<std::uint64_t>(count);
    if (total_values > max_values) {
      tensor_fail(
          fmt::format("the tensors hold more than {} values, far more than the file's "
                      "storages (the same storage is reused over and over)",
                      max_values));
    }
    TensorData t;
    t.shape = value.shape;
    if (raw == nullptr) {
      out.tensors[name] = std::move(t);
      continue;
    }
    t.values.resize(static_cast<std::size_t>(count));
    const std::uint8_t* p = raw->data() + static_cast<std::uint64_t>(value.offset) * size;
    for (std::size_t e = 0; e < t.values.size(); ++e) {
      t.values[e] = element(p + e * size, type, swap);
    }
    out.tensors[name] = std::move(t);
  }
  if (out.tensors.empty()) {
    std::vector<std::string> keys;
    for (std::size_t k = 0; k + 1 < root.items.size() && keys.size() < 8; k += 2) {
      const Obj& key = u.at(root.items[k]);
      keys.push_back(key.kind == Kind::string ? key.s : kind_name(key.kind));
    }
    throw Error(ErrorKind::input, file,
                fmt::format("no tensors found (top-level keys: {})", fmt::join(keys, ", ")),
                "expected a state dict, or one under 'params_ema', 'params' or 'state_dict'");
  }
  return out;
}

}  // namespace

PthCheckpoint load_pth(const fs::path& path) {
  return read_pth(path, /*with_values=*/true);
}

PthCheckpoint read_pth_header(const fs::path& path) {
  return read_pth(path, /*with_values=*/false);
}

}  // namespace hires::models
