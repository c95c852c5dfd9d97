// A sketch that never says a word: the harness's own tests use it as a board that
// never answers (no HIL:BOOT ever comes, however long the harness waits). It includes
// hil_scenario.h, so the harness treats it as one of ours, which print their own
// HIL:BOOT, and does not frame setup() as it does a user's sketch.
#include <Arduino.h>

#include "hil_scenario.h"

void setup() {}

void loop() { delay(1000); }
