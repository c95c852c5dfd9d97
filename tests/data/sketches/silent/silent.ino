// A sketch that never says a word: the harness's own tests use it as a board that
// never answers (no HIL:BOOT ever comes, however long the harness waits).
#include <Arduino.h>

void setup() {}

void loop() { delay(1000); }
