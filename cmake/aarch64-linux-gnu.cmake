# Cross-compiling for 64-bit Arm with Debian's g++-aarch64-linux-gnu (scripts/cross-check.sh).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
