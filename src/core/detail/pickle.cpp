#include "core/detail/pickle.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <unordered_map>

#include "pat/core/error.h"

namespace pat::detail {
namespace {

using Kind = PickleValue::Kind;

PickleRef make(Kind kind) {
  auto v = std::make_shared<PickleValue>();
  v->kind = kind;
  return v;
}

PickleRef make_int(int64_t i) {
  auto v = make(Kind::kInt);
  v->integer = i;
  return v;
}

PickleRef make_text(Kind kind, std::string s) {
  auto v = make(kind);
  v->text = std::move(s);
  return v;
}

/// Latin-1 code points (as a protocol-0/1 str or `_codecs.encode(s, "latin1")` carries bytes) from UTF-8.
std::string latin1_from_utf8(const std::string& utf8, const std::string& what) {
  std::string out;
  for (size_t i = 0; i < utf8.size(); ++i) {
    const auto c = static_cast<unsigned char>(utf8[i]);
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else if ((c & 0xE0) == 0xC0 && i + 1 < utf8.size()) {
      const unsigned code = ((c & 0x1F) << 6) | (static_cast<unsigned char>(utf8[++i]) & 0x3F);
      PAT_CHECK(code < 0x100, what, ": a latin1-encoded byte string holds the code point ", code);
      out += static_cast<char>(code);
    } else {
      PAT_FAIL(what, ": a latin1-encoded byte string holds a character above U+00FF");
    }
  }
  return out;
}

class Unpickler {
 public:
  Unpickler(const std::string& data, const std::string& what, const PersistentLoader& persistent)
      : data_(data), what_(what), persistent_(persistent) {}

  PickleRef run() {
    while (true) {
      const size_t at = pos_;
      const auto op = static_cast<unsigned char>(byte());
      switch (op) {
        case 0x80:
          byte();
          break;  // PROTO
        case 0x95:
          bytes(8);
          break;   // FRAME (length only)
        case '.':  // STOP
          PAT_CHECK(stack_.size() == 1 && marks_.empty(), what_, ": malformed pickle (", stack_.size(),
                    " values on the stack at STOP)");
          return stack_.back();
        case '(':
          marks_.push_back(stack_.size());
          break;  // MARK
        case '0':
          pop();
          break;  // POP
        case '1':
          pop_mark();
          break;  // POP_MARK
        case '2':
          push(top());
          break;  // DUP
        case 'N':
          push(make(Kind::kNone));
          break;
        case 0x88:
        case 0x89: {
          auto v = make(Kind::kBool);
          v->boolean = op == 0x88;
          push(v);
          break;
        }
        case 'I': {  // INT (text): "01"/"00" are True/False
          const std::string line = read_line();
          if (line == "01" || line == "00") {
            auto v = make(Kind::kBool);
            v->boolean = line == "01";
            push(v);
          } else {
            push(make_int(parse_int(line, at)));
          }
          break;
        }
        case 'J':
          push(make_int(static_cast<int32_t>(little(4))));
          break;  // BININT
        case 'K':
          push(make_int(static_cast<int64_t>(little(1))));
          break;  // BININT1
        case 'M':
          push(make_int(static_cast<int64_t>(little(2))));
          break;     // BININT2
        case 'L': {  // LONG (text, trailing L)
          std::string line = read_line();
          if (!line.empty() && line.back() == 'L') line.pop_back();
          push(make_int(parse_int(line, at)));
          break;
        }
        case 0x8a:
          push(make_int(long_bytes(little(1), at)));
          break;  // LONG1
        case 0x8b:
          push(make_int(long_bytes(little(4), at)));
          break;     // LONG4
        case 'F': {  // FLOAT (text)
          auto v = make(Kind::kFloat);
          const std::string line = read_line();
          char* end = nullptr;
          v->real = std::strtod(line.c_str(), &end);
          PAT_CHECK(end && *end == '\0', what_, ": bad FLOAT \"", line, "\" at byte ", at);
          push(v);
          break;
        }
        case 'G': {  // BINFLOAT (big-endian double)
          const std::string b = bytes(8);
          uint64_t bits = 0;
          for (int i = 0; i < 8; ++i) bits = (bits << 8) | static_cast<unsigned char>(b[i]);
          auto v = make(Kind::kFloat);
          std::memcpy(&v->real, &bits, 8);
          push(v);
          break;
        }
        case 'S':
          push(make_text(Kind::kString, unquote(read_line(), at)));
          break;  // STRING
        case 'T':
          push(make_text(Kind::kString, bytes(little(4))));
          break;  // BINSTRING
        case 'U':
          push(make_text(Kind::kString, bytes(little(1))));
          break;  // SHORT_BINSTRING
        case 'B':
          push(make_text(Kind::kBytes, bytes(little(4))));
          break;  // BINBYTES
        case 'C':
          push(make_text(Kind::kBytes, bytes(little(1))));
          break;    // SHORT_BINBYTES
        case 0x8e:  // BINBYTES8
        case 0x96:  // BYTEARRAY8
          push(make_text(Kind::kBytes, bytes(little(8))));
          break;
        case 'V':
          push(make_text(Kind::kString, read_line()));
          break;  // UNICODE (raw-unicode-escape)
        case 'X':
          push(make_text(Kind::kString, bytes(little(4))));
          break;  // BINUNICODE
        case 0x8c:
          push(make_text(Kind::kString, bytes(little(1))));
          break;  // SHORT_BINUNICODE
        case 0x8d:
          push(make_text(Kind::kString, bytes(little(8))));
          break;  // BINUNICODE8
        case ')':
          push(make(Kind::kTuple));
          break;     // EMPTY_TUPLE
        case 't': {  // TUPLE
          auto v = make(Kind::kTuple);
          v->items = pop_mark();
          push(v);
          break;
        }
        case 0x85:
        case 0x86:
        case 0x87: {  // TUPLE1..3
          const size_t n = op - 0x84;
          PAT_CHECK(stack_.size() >= stack_floor() + n, what_, ": malformed pickle (TUPLE", n, " at byte ", at, ")");
          auto v = make(Kind::kTuple);
          v->items.assign(stack_.end() - n, stack_.end());
          stack_.resize(stack_.size() - n);
          push(v);
          break;
        }
        case ']':   // EMPTY_LIST
        case 0x8f:  // EMPTY_SET
          push(make(Kind::kList));
          break;
        case 'l':     // LIST
        case 0x91: {  // FROZENSET
          auto v = make(Kind::kList);
          v->items = pop_mark();
          push(v);
          break;
        }
        case 'a': {  // APPEND
          auto item = pop();
          append(top(), {item}, at);
          break;
        }
        case 'e':     // APPENDS
        case 0x90: {  // ADDITEMS
          auto items = pop_mark();
          append(top(), items, at);
          break;
        }
        case '}':
          push(make(Kind::kDict));
          break;     // EMPTY_DICT
        case 'd': {  // DICT
          auto items = pop_mark();
          auto v = make(Kind::kDict);
          set_items(v, items, at);
          push(v);
          break;
        }
        case 's': {  // SETITEM
          auto value = pop();
          auto key = pop();
          set_items(top(), {key, value}, at);
          break;
        }
        case 'u': {  // SETITEMS
          auto items = pop_mark();
          set_items(top(), items, at);
          break;
        }
        case 'c': {  // GLOBAL
          std::string module = read_line();
          std::string name = read_line();
          push(make_text(Kind::kGlobal, module + "." + name));
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          auto name = pop();
          auto module = pop();
          PAT_CHECK(module->kind == Kind::kString && name->kind == Kind::kString, what_,
                    ": malformed pickle (STACK_GLOBAL at byte ", at, ")");
          push(make_text(Kind::kGlobal, module->text + "." + name->text));
          break;
        }
        case 'R': {  // REDUCE
          auto args = pop();
          auto callable = pop();
          push(reduce(callable, args, at));
          break;
        }
        case 0x81: {  // NEWOBJ
          auto args = pop();
          auto cls = pop();
          push(opaque(cls, args));
          break;
        }
        case 0x92: {  // NEWOBJ_EX
          pop();      // kwargs
          auto args = pop();
          auto cls = pop();
          push(opaque(cls, args));
          break;
        }
        case 'o': {  // OBJ: MARK cls args... OBJ
          auto items = pop_mark();
          PAT_CHECK(!items.empty(), what_, ": malformed pickle (OBJ at byte ", at, ")");
          auto args = make(Kind::kTuple);
          args->items.assign(items.begin() + 1, items.end());
          push(opaque(items.front(), args));
          break;
        }
        case 'i': {  // INST: module\nname\n, MARK args... INST
          std::string module = read_line();
          std::string name = read_line();
          auto args = make(Kind::kTuple);
          args->items = pop_mark();
          push(opaque(make_text(Kind::kGlobal, module + "." + name), args));
          break;
        }
        case 'b': {  // BUILD
          auto state = pop();
          auto target = top();
          if (target->kind == Kind::kObject) target->state = state;
          // dict / OrderedDict attributes (a state_dict's _metadata) and tensor state are dropped
          break;
        }
        case 'p':
          memo_[parse_int(read_line(), at)] = top();
          break;  // PUT
        case 'q':
          memo_[little(1)] = top();
          break;  // BINPUT
        case 'r':
          memo_[little(4)] = top();
          break;  // LONG_BINPUT
        case 0x94:
          memo_[static_cast<int64_t>(memo_.size())] = top();
          break;  // MEMOIZE
        case 'g':
          push(memo(parse_int(read_line(), at), at));
          break;  // GET
        case 'h':
          push(memo(little(1), at));
          break;  // BINGET
        case 'j':
          push(memo(little(4), at));
          break;  // LONG_BINGET
        case 'P':
          push(persistent(make_text(Kind::kString, read_line()), at));
          break;     // PERSID
        case 'Q': {  // BINPERSID
          auto pid = pop();
          push(persistent(pid, at));
          break;
        }
        default: {
          char hex[8];
          std::snprintf(hex, sizeof hex, "0x%02x", op);
          PAT_FAIL(what_, ": unsupported pickle opcode ", hex, " at byte ", at,
                   " (not something torch.save writes; re-save the file with torch.save)");
        }
      }
    }
  }

 private:
  char byte() {
    PAT_CHECK(pos_ < data_.size(), what_, ": truncated pickle (ends at byte ", pos_, " without STOP)");
    return data_[pos_++];
  }

  std::string bytes(uint64_t n) {
    PAT_CHECK(n <= data_.size() - pos_, what_, ": truncated pickle (", n, " bytes wanted at byte ", pos_, ", ",
              data_.size() - pos_, " left)");
    std::string out = data_.substr(pos_, n);
    pos_ += n;
    return out;
  }

  uint64_t little(int n) {
    const std::string b = bytes(n);
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[i]);
    return v;
  }

  /// LONG1/LONG4 payload: little-endian two's complement of n bytes (must fit 64 bits).
  int64_t long_bytes(uint64_t n, size_t at) {
    PAT_CHECK(n <= 8, what_, ": integer of ", n, " bytes at byte ", at, " does not fit 64 bits");
    if (n == 0) return 0;
    const std::string b = bytes(n);
    uint64_t v = 0;
    for (int i = static_cast<int>(n) - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[i]);
    if (n < 8 && (static_cast<unsigned char>(b[n - 1]) & 0x80)) v |= ~uint64_t{0} << (8 * n);  // sign-extend
    return static_cast<int64_t>(v);
  }

  std::string read_line() {
    const size_t end = data_.find('\n', pos_);
    PAT_CHECK(end != std::string::npos, what_, ": truncated pickle (unterminated line at byte ", pos_, ")");
    std::string line = data_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return line;
  }

  int64_t parse_int(const std::string& text, size_t at) {
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(text.c_str(), &end, 10);
    PAT_CHECK(!text.empty() && end && *end == '\0' && errno == 0, what_, ": bad integer \"", text, "\" at byte ", at);
    return v;
  }

  std::string unquote(const std::string& text, size_t at) {
    PAT_CHECK(text.size() >= 2 && (text.front() == '\'' || text.front() == '"') && text.back() == text.front(), what_,
              ": bad STRING at byte ", at);
    return text.substr(1, text.size() - 2);  // escapes are left as they are (never in torch.save data)
  }

  size_t stack_floor() const { return marks_.empty() ? 0 : marks_.back(); }

  void push(PickleRef v) { stack_.push_back(std::move(v)); }

  PickleRef pop() {
    PAT_CHECK(stack_.size() > stack_floor(), what_, ": malformed pickle (stack underflow at byte ", pos_ - 1, ")");
    auto v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }

  const PickleRef& top() {
    PAT_CHECK(stack_.size() > stack_floor(), what_, ": malformed pickle (empty stack at byte ", pos_ - 1, ")");
    return stack_.back();
  }

  std::vector<PickleRef> pop_mark() {
    PAT_CHECK(!marks_.empty(), what_, ": malformed pickle (no MARK before byte ", pos_ - 1, ")");
    const size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<PickleRef> items(stack_.begin() + mark, stack_.end());
    stack_.resize(mark);
    return items;
  }

  PickleRef memo(int64_t key, size_t at) {
    auto it = memo_.find(key);
    PAT_CHECK(it != memo_.end(), what_, ": malformed pickle (memo entry ", key, " unset at byte ", at, ")");
    return it->second;
  }

  void append(const PickleRef& target, const std::vector<PickleRef>& items, size_t at) {
    if (target->kind == Kind::kObject) return;  // a custom list-like class: contents dropped with the object
    PAT_CHECK(target->kind == Kind::kList, what_, ": malformed pickle (APPEND to ", target->describe(), " at byte ", at,
              ")");
    target->items.insert(target->items.end(), items.begin(), items.end());
  }

  void set_items(const PickleRef& target, const std::vector<PickleRef>& items, size_t at) {
    if (target->kind == Kind::kObject) return;  // a custom dict-like class: contents dropped with the object
    PAT_CHECK(target->kind == Kind::kDict && items.size() % 2 == 0, what_, ": malformed pickle (SETITEMS on ",
              target->describe(), " at byte ", at, ")");
    for (size_t i = 0; i < items.size(); i += 2) target->entries.emplace_back(items[i], items[i + 1]);
  }

  PickleRef persistent(const PickleRef& pid, size_t at) {
    PAT_CHECK(static_cast<bool>(persistent_), what_, ": unexpected persistent id at byte ", at);
    return persistent_(pid);
  }

  PickleRef opaque(const PickleRef& cls, const PickleRef& args) {
    auto v = make(Kind::kObject);
    v->text = cls->kind == Kind::kGlobal ? cls->text : cls->describe();
    v->items = args->kind == Kind::kTuple ? args->items : std::vector<PickleRef>{args};
    return v;
  }

  std::vector<int64_t> int_tuple(const PickleRef& v, const char* field, size_t at) {
    PAT_CHECK(v->kind == Kind::kTuple || v->kind == Kind::kList, what_, ": tensor ", field, " is not a tuple (byte ",
              at, ")");
    std::vector<int64_t> out;
    for (const auto& item : v->items) {
      PAT_CHECK(item->kind == Kind::kInt, what_, ": tensor ", field, " holds ", item->describe(), " (byte ", at, ")");
      out.push_back(item->integer);
    }
    return out;
  }

  PickleRef reduce(const PickleRef& callable, const PickleRef& args, size_t at) {
    if (callable->kind != Kind::kGlobal) return opaque(callable, args);
    const std::string& name = callable->text;
    const auto& a = args->items;
    if (name == "collections.OrderedDict" || name == "builtins.dict") {
      auto v = make(Kind::kDict);
      if (!a.empty() && (a[0]->kind == Kind::kList || a[0]->kind == Kind::kTuple))
        for (const auto& pair : a[0]->items)
          if (pair->kind == Kind::kTuple && pair->items.size() == 2)
            v->entries.emplace_back(pair->items[0], pair->items[1]);
      return v;
    }
    if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor" ||
        name == "torch._utils._rebuild_tensor_v3") {
      PAT_CHECK(a.size() >= 4 && a[0]->kind == Kind::kStorage && a[1]->kind == Kind::kInt, what_,
                ": malformed tensor record at byte ", at);
      auto v = make(Kind::kTensor);
      v->state = a[0];
      v->storage_offset = a[1]->integer;
      v->sizes = int_tuple(a[2], "size", at);
      v->strides = int_tuple(a[3], "stride", at);
      PAT_CHECK(v->sizes.size() == v->strides.size(), what_, ": tensor size and stride differ in length (byte ", at,
                ")");
      return v;
    }
    if (name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state") {
      PAT_CHECK(!a.empty(), what_, ": malformed parameter record at byte ", at);
      return a[0];
    }
    if (name == "torch._tensor._rebuild_from_type_v2" || name == "torch._tensor._rebuild_from_type") {
      // (function, type, args, state): the tensor comes from the function applied to args
      PAT_CHECK(a.size() >= 3, what_, ": malformed tensor record at byte ", at);
      return reduce(a[0], a[2], at);
    }
    if (name == "torch.Size" && !a.empty()) return a[0];
    if (name == "_codecs.encode" && a.size() == 2 && a[0]->kind == Kind::kString)
      return make_text(Kind::kBytes, latin1_from_utf8(a[0]->text, what_));
    return opaque(callable, args);  // never called: numpy scalars, custom classes, ...
  }

  const std::string& data_;
  const std::string& what_;
  const PersistentLoader& persistent_;
  size_t pos_ = 0;
  std::vector<PickleRef> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<int64_t, PickleRef> memo_;
};

}  // namespace

std::string PickleValue::describe() const {
  switch (kind) {
    case Kind::kNone:
      return "None";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return "int";
    case Kind::kFloat:
      return "float";
    case Kind::kString:
      return "str";
    case Kind::kBytes:
      return "bytes";
    case Kind::kTuple:
      return "tuple";
    case Kind::kList:
      return "list";
    case Kind::kDict:
      return "dict";
    case Kind::kGlobal:
      return "class " + text;
    case Kind::kObject:
      return text + " object";
    case Kind::kStorage:
      return "storage";
    case Kind::kTensor:
      return "tensor";
  }
  return "value";
}

PickleRef unpickle(const std::string& data, const std::string& what, const PersistentLoader& persistent) {
  return Unpickler(data, what, persistent).run();
}

}  // namespace pat::detail
