// A buffer for PINs and other secrets.
//
// It wipes its bytes when it is destroyed or reassigned, cannot be copied (a copy is a
// second place to forget), and has no stream operator or conversion to std::string, so
// it cannot reach a log line or an error message by accident.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace cac {

// Overwrites memory in a way the optimiser may not remove.
void wipe(void* data, std::size_t size) noexcept;

class Secret {
  public:
    Secret() = default;
    explicit Secret(std::string_view value) { assign(value); }
    Secret(const Secret&) = delete;
    Secret& operator=(const Secret&) = delete;
    Secret(Secret&& other) noexcept : bytes_(std::move(other.bytes_)) {}
    Secret& operator=(Secret&& other) noexcept {
        if (this != &other) {
            clear();
            bytes_ = std::move(other.bytes_);
        }
        return *this;
    }
    ~Secret() { clear(); }

    void assign(std::string_view value) {
        clear();
        bytes_.reserve(value.size());
        bytes_.assign(value.begin(), value.end());
    }
    void clear() noexcept {
        wipe(bytes_.data(), bytes_.capacity());
        bytes_.clear();
    }

    bool empty() const { return bytes_.empty(); }
    std::size_t size() const { return bytes_.size(); }
    // For the one call that needs the bytes (C_Login, VERIFY); never for printing.
    const unsigned char* data() const { return bytes_.data(); }
    unsigned char* data() { return bytes_.data(); }

  private:
    std::vector<unsigned char> bytes_;
};

}  // namespace cac
