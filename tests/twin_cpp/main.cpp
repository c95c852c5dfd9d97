#include "check.h"

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) check::args().push_back(argv[i]);
    int passed = 0, failed = 0;
    for (auto& c : check::cases()) {
        int before = check::failures();
        c.fn();
        bool ok = check::failures() == before;
        std::printf("%s %s\n", ok ? "ok" : "FAIL", c.name);
        (ok ? passed : failed)++;
    }
    std::printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
