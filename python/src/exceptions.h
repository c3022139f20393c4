// dcnjit::Error as Python exceptions. Every class derives from dcnjit.Error (which carries the C++ code
// name as the class attribute `code`) and from the built-in exception a Python caller would expect:
//
//   code             class                     also a
//   InvalidArgument  dcnjit.InvalidArgumentError  ValueError
//   Unsupported      dcnjit.UnsupportedError      NotImplementedError
//   NoDevice         dcnjit.NoDeviceError         RuntimeError
//   CompileError     dcnjit.CompileError          RuntimeError
//   LaunchError      dcnjit.LaunchError           RuntimeError
//   IoError          dcnjit.IoError               OSError
//   CacheError       dcnjit.CacheError            RuntimeError
//   Internal         dcnjit.InternalError         RuntimeError
//
// The message is dcnjit's, unchanged.
#pragma once

#include <nanobind/nanobind.h>

namespace dcnjit::python {

void register_exceptions(nanobind::module_& module);

}  // namespace dcnjit::python
