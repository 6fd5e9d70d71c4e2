#include "cli/commands.hpp"

int main(int argc, char** argv) {
    return cac::cli::run(argc, argv);
}
