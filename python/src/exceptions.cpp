#include "exceptions.h"

#include <array>
#include <exception>

#include "dcnjit/error.h"

namespace nb = nanobind;

namespace dcnjit::python {
namespace {

struct ErrorClass {
  ErrorCode code;
  const char* code_name;  // the enumerator's name, as in C++
  const char* name;
  PyObject* builtin;
  PyObject* type = nullptr;  // created at import; lives as long as the module (a module attribute)
};

std::array<ErrorClass, 9>& error_classes() {
  static std::array<ErrorClass, 9> classes{{
      {ErrorCode::InvalidArgument, "InvalidArgument", "InvalidArgumentError", PyExc_ValueError},
      {ErrorCode::Unsupported, "Unsupported", "UnsupportedError", PyExc_NotImplementedError},
      {ErrorCode::NoDevice, "NoDevice", "NoDeviceError", PyExc_RuntimeError},
      {ErrorCode::CompileError, "CompileError", "CompileError", PyExc_RuntimeError},
      {ErrorCode::LaunchError, "LaunchError", "LaunchError", PyExc_RuntimeError},
      {ErrorCode::DeviceLost, "DeviceLost", "DeviceLostError", PyExc_RuntimeError},
      {ErrorCode::IoError, "IoError", "IoError", PyExc_OSError},
      {ErrorCode::CacheError, "CacheError", "CacheError", PyExc_RuntimeError},
      {ErrorCode::Internal, "Internal", "InternalError", PyExc_RuntimeError},
  }};
  return classes;
}

PyObject* base_class = nullptr;

nb::object new_exception(const char* name, nb::handle bases, const char* doc) {
  PyObject* type = PyErr_NewExceptionWithDoc((std::string("dcnjit.") + name).c_str(), doc, bases.ptr(), nullptr);
  if (!type) throw nb::python_error();
  return nb::steal(type);
}

}  // namespace

void register_exceptions(nb::module_& module) {
  nb::object base = new_exception("Error", PyExc_Exception, "Base class of every error dcnjit raises; `code` names "
                                                            "the dcnjit::ErrorCode.");
  base.attr("code") = "";
  module.attr("Error") = base;
  base_class = base.ptr();
  for (ErrorClass& entry : error_classes()) {
    nb::object type = new_exception(entry.name, nb::make_tuple(base, nb::handle(entry.builtin)), nullptr);
    type.attr("code") = entry.code_name;
    module.attr(entry.name) = type;
    entry.type = type.ptr();
  }

  nb::register_exception_translator([](const std::exception_ptr& thrown, void*) {
    try {
      std::rethrow_exception(thrown);
    } catch (const Error& error) {
      for (const ErrorClass& entry : error_classes())
        if (entry.code == error.code()) {
          PyErr_SetString(entry.type, error.what());
          return;
        }
      PyErr_SetString(base_class, error.what());
    }
  });
}

}  // namespace dcnjit::python
