# Fails when BINARY depends on libcuda at load time (a DT_NEEDED entry). dcnjit loads the driver with
# dlopen so that it starts on machines without one; CUDA::nvrtc's imported target drags in the
# toolkit's stub libcuda.so, which only --as-needed keeps out of the binary: a direct cu* call
# anywhere would silently turn it into a hard dependency.
execute_process(COMMAND readelf -d ${BINARY} OUTPUT_VARIABLE dynamic RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "readelf -d ${BINARY} failed (${rc})")
endif()
if(dynamic MATCHES "NEEDED[^\n]*libcuda\\.so")
  message(FATAL_ERROR "${BINARY} links libcuda (NEEDED entry); the driver must only be dlopen'ed:\n${dynamic}")
endif()
message(STATUS "${BINARY}: no libcuda NEEDED entry")
