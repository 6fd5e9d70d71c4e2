#include "tlv.hpp"

namespace cardsim {

namespace {

// ISO/IEC 7816-4 clause 5.2.2.1: a first byte whose five low bits are all set announces
// further tag bytes; each of them with b8 set announces one more. PIV tags stop at three.
std::optional<std::uint32_t> read_tag(std::span<const std::uint8_t> in, std::size_t& pos) {
    if (pos >= in.size()) {
        return std::nullopt;
    }
    std::uint32_t tag = in[pos++];
    if ((tag & 0x1F) != 0x1F) {
        return tag;
    }
    for (int i = 0; i < 2; ++i) {
        if (pos >= in.size()) {
            return std::nullopt;
        }
        std::uint8_t b = in[pos++];
        tag = (tag << 8) | b;
        if ((b & 0x80) == 0) {
            return tag;
        }
    }
    return std::nullopt;
}

std::optional<std::size_t> read_length(std::span<const std::uint8_t> in, std::size_t& pos) {
    if (pos >= in.size()) {
        return std::nullopt;
    }
    std::uint8_t first = in[pos++];
    if (first < 0x80) {
        return first;
    }
    std::size_t count = first & 0x7F;
    if (count == 0 || count > 3 || in.size() - pos < count) {
        return std::nullopt;  // indefinite lengths are not BER-TLV in 7816-4
    }
    std::size_t length = 0;
    for (std::size_t i = 0; i < count; ++i) {
        length = (length << 8) | in[pos++];
    }
    return length;
}

}  // namespace

std::optional<Tlv> read_tlv(std::span<const std::uint8_t> in) {
    std::size_t pos = 0;
    auto tag = read_tag(in, pos);
    if (!tag) {
        return std::nullopt;
    }
    auto length = read_length(in, pos);
    if (!length || in.size() - pos < *length) {
        return std::nullopt;
    }
    return Tlv{*tag, in.subspan(pos, *length), pos + *length};
}

std::optional<std::vector<Tlv>> read_all_tlv(std::span<const std::uint8_t> in) {
    std::vector<Tlv> all;
    while (!in.empty()) {
        auto t = read_tlv(in);
        if (!t) {
            return std::nullopt;
        }
        all.push_back(*t);
        in = in.subspan(t->size);
    }
    return all;
}

void append_tag(Bytes& out, std::uint32_t tag) {
    if (tag > 0xFFFF) {
        out.push_back(static_cast<std::uint8_t>(tag >> 16));
    }
    if (tag > 0xFF) {
        out.push_back(static_cast<std::uint8_t>(tag >> 8));
    }
    out.push_back(static_cast<std::uint8_t>(tag));
}

void append_length(Bytes& out, std::size_t length) {
    if (length < 0x80) {
        out.push_back(static_cast<std::uint8_t>(length));
    } else if (length <= 0xFF) {
        out.insert(out.end(), {0x81, static_cast<std::uint8_t>(length)});
    } else if (length <= 0xFFFF) {
        out.insert(out.end(), {0x82, static_cast<std::uint8_t>(length >> 8),
                               static_cast<std::uint8_t>(length)});
    } else {
        out.insert(out.end(),
                   {0x83, static_cast<std::uint8_t>(length >> 16),
                    static_cast<std::uint8_t>(length >> 8), static_cast<std::uint8_t>(length)});
    }
}

void append_tlv(Bytes& out, std::uint32_t tag, std::span<const std::uint8_t> value) {
    append_tag(out, tag);
    append_length(out, value.size());
    out.insert(out.end(), value.begin(), value.end());
}

Bytes tlv(std::uint32_t tag, std::span<const std::uint8_t> value) {
    Bytes out;
    append_tlv(out, tag, value);
    return out;
}

}  // namespace cardsim
