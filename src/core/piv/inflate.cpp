// Bounded inflating: the output grows a chunk at a time and stops one byte past the
// limit, so a few hundred compressed bytes that would inflate to gigabytes (a "zip bomb")
// cost at most the limit in memory.
#include <zlib.h>

#include <algorithm>

#include "core/piv/containers.hpp"
#include "core/util/error.hpp"

namespace cac::piv {
namespace {

constexpr std::size_t kChunk = 16384;
// windowBits 15 with 32 added: zlib detects a gzip (RFC 1952) or zlib (RFC 1950) header.
constexpr int kAutoDetectWindow = 15 + 32;

const char* kOperation = "inflate the certificate";

class Inflater {
  public:
    Inflater() {
        if (inflateInit2(&stream_, kAutoDetectWindow) != Z_OK)
            throw Error(CoreCode::internal, kOperation, "zlib could not start");
    }
    ~Inflater() { inflateEnd(&stream_); }
    Inflater(const Inflater&) = delete;
    Inflater& operator=(const Inflater&) = delete;

    Bytes run(std::span<const std::uint8_t> data, std::size_t limit);

  private:
    z_stream stream_{};
};

Bytes Inflater::run(std::span<const std::uint8_t> data, std::size_t limit) {
    stream_.next_in = const_cast<Bytef*>(data.data());  // zlib's API is not const-correct
    stream_.avail_in = uInt(data.size());
    Bytes out;
    int status = Z_OK;
    while (status != Z_STREAM_END) {
        if (out.size() > limit) {
            throw Error(CoreCode::parse_error, kOperation,
                        "the certificate inflates to over " + std::to_string(limit) + " bytes");
        }
        std::size_t used = out.size();
        out.resize(std::min(used + kChunk, limit + 1));
        stream_.next_out = out.data() + used;
        stream_.avail_out = uInt(out.size() - used);
        status = inflate(&stream_, Z_NO_FLUSH);
        out.resize(out.size() - stream_.avail_out);
        if (status == Z_BUF_ERROR && stream_.avail_in == 0)
            throw Error(CoreCode::parse_error, kOperation, "the compressed data is cut short");
        if (status != Z_OK && status != Z_STREAM_END && status != Z_BUF_ERROR) {
            throw Error(CoreCode::parse_error, kOperation,
                        std::string("the compressed data is damaged: ") +
                            (stream_.msg ? stream_.msg : "zlib error " + std::to_string(status)));
        }
    }
    if (out.size() > limit)
        throw Error(CoreCode::parse_error, kOperation,
                    "the certificate inflates to over " + std::to_string(limit) + " bytes");
    return out;
}

}  // namespace

Bytes inflate_bounded(std::span<const std::uint8_t> data, std::size_t limit) {
    if (data.empty())
        throw Error(CoreCode::parse_error, kOperation, "there is no compressed data");
    Inflater inflater;
    return inflater.run(data, limit);
}

}  // namespace cac::piv
