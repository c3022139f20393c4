// A minimal streaming JSON writer for the profiler's and bench's machine-readable output: objects,
// arrays, strings (escaped per RFC 8259) and numbers (non-finite ones become null, which JSON lacks).
#pragma once

#include <string>
#include <vector>

namespace dcnjit::profile {

class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(const std::string& name);  // inside an object, before its value
  JsonWriter& value(const std::string& text);
  JsonWriter& value(const char* text) { return value(std::string(text)); }
  JsonWriter& value(double number);
  JsonWriter& value(int number) { return value(double(number)); }
  JsonWriter& value(bool flag);

  const std::string& str() const { return out_; }

 private:
  void before_value();
  std::string out_;
  std::vector<bool> first_in_scope_;  // per open object/array: no element written yet
  bool after_key_ = false;
};

std::string json_escape(const std::string& text);

}  // namespace dcnjit::profile
