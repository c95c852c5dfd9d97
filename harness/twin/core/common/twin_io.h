// Process-level plumbing of the twin: where Serial goes, human diagnostics,
// and a prompt exit on SIGTERM/SIGINT. One board = one process.
#pragma once

#include <cstddef>
#include <cstdint>

namespace twin {

// The serial fd: $HIL_SERIAL_FD when set (an inherited pty master), else stdout.
int serial_fd();

// Write all bytes to the serial fd (unbuffered: nothing is lost on exit).
void serial_write(const uint8_t* data, size_t len);

// printf onto the serial, like os_printf with debug output on UART0: this is
// where axTLS's debug lines go on a real board.
void serial_printf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// A line for humans on stderr, prefixed "hil-twin: ".
void diag(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// Install SIGTERM/SIGINT handlers that exit at once (Serial has no buffer).
void install_signal_handlers();

}  // namespace twin
