// The run's server port and trust, read at start, for a harness sketch built for the twin.
//
// A board compiles its server port, trust anchor and certificate fingerprint in
// (hil_scenario.h). The twin's build of a harness sketch gets the same names as calls
// instead, answered from the environment the harness sets at reset, so one binary
// serves every run of that sketch and its switches (every profile, port and golden
// case): HIL_RUN_PORT, HIL_RUN_CERT_SHA1, and the files HIL_RUN_CA_DER_FILE and
// HIL_RUN_CA_PEM_FILE. A value the sketch uses and the environment lacks ends the
// twin with a message naming it: the harness always sets them; only a twin started by
// hand can miss one.
#pragma once

#include <stdint.h>

uint16_t hil_run_port();
const char* hil_run_cert_sha1();
const unsigned char* hil_run_ca_der();
unsigned int hil_run_ca_der_len();
const char* hil_run_ca_pem();
