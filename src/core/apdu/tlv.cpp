#include "core/apdu/tlv.hpp"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/apdu/tlv_tags.hpp"
#include "core/util/error.hpp"

namespace cac {
namespace {

constexpr std::size_t kMaxTagBytes = 4;
constexpr std::size_t kMaxLengthBytes = 4;

struct Header {
    std::uint32_t tag = 0;
    std::size_t size = 0;  // tag and length bytes
    std::size_t length = 0;
};

class Reader {
  public:
    Reader(std::span<const std::uint8_t> input, const TlvOptions& options, TlvDocument& doc)
        : input_(input), options_(options), doc_(doc) {}

    // Reads the objects in [begin, end). Returns the offset of the error that stopped it,
    // with its text in `error`, or nullopt when every byte was read.
    std::optional<std::size_t> sequence(std::size_t begin, std::size_t end, std::size_t depth,
                                        std::uint32_t parent, std::vector<TlvNode>& out,
                                        std::string& error);

  private:
    std::optional<Header> header(std::size_t at, std::size_t end, std::string& error) const;
    void fill_value(TlvNode& node, std::size_t depth, std::uint32_t parent);

    std::span<const std::uint8_t> input_;
    const TlvOptions& options_;
    TlvDocument& doc_;
};

std::optional<Header> Reader::header(std::size_t at, std::size_t end, std::string& error) const {
    Header h;
    std::size_t pos = at;
    h.tag = input_[pos++];
    if ((h.tag & 0x1F) == 0x1F) {
        // X.690 8.1.2.4: subsequent tag bytes while bit 8 is set.
        std::uint8_t b = 0x80;
        while (b & 0x80) {
            if (pos >= end) {
                error = "the tag is cut short";
                return std::nullopt;
            }
            if (pos - at >= kMaxTagBytes) {
                error = "a tag longer than 4 bytes";
                return std::nullopt;
            }
            b = input_[pos++];
            h.tag = h.tag << 8 | b;
        }
    }
    if (pos >= end) {
        error = "tag " + tag_hex(h.tag) + " has no length";
        return std::nullopt;
    }
    std::uint8_t first = input_[pos++];
    if (first == 0x80) {
        error = "tag " + tag_hex(h.tag) + " has the indefinite length (80), which is refused";
        return std::nullopt;
    }
    if (first & 0x80) {
        std::size_t count = first & 0x7F;
        if (count > kMaxLengthBytes) {
            error = "tag " + tag_hex(h.tag) + " has a length of " + std::to_string(count) +
                    " bytes (at most 4)";
            return std::nullopt;
        }
        if (end - pos < count) {
            error = "the length of tag " + tag_hex(h.tag) + " is cut short";
            return std::nullopt;
        }
        std::uint64_t length = 0;
        for (std::size_t i = 0; i < count; ++i)
            length = length << 8 | input_[pos++];
        h.length = std::size_t(length);
    } else {
        h.length = first;
    }
    h.size = pos - at;
    if (h.length > end - pos) {
        error = "tag " + tag_hex(h.tag) + " says " + std::to_string(h.length) +
                " value bytes but only " + std::to_string(end - pos) + " remain";
        return std::nullopt;
    }
    return h;
}

std::optional<std::size_t> Reader::sequence(std::size_t begin, std::size_t end, std::size_t depth,
                                            std::uint32_t parent, std::vector<TlvNode>& out,
                                            std::string& error) {
    std::size_t at = begin;
    while (at < end) {
        std::optional<Header> h = header(at, end, error);
        if (!h)
            return at;
        TlvNode node;
        node.tag = h->tag;
        node.offset = at;
        node.header_size = h->size;
        node.length = h->length;
        fill_value(node, depth, parent);
        out.push_back(std::move(node));
        at += h->size + h->length;
    }
    return std::nullopt;
}

bool constructed_bit(std::uint32_t tag) {
    std::uint32_t first = tag;
    while (first > 0xFF)
        first >>= 8;
    return (first & 0x20) != 0;
}

void Reader::fill_value(TlvNode& node, std::size_t depth, std::uint32_t parent) {
    std::size_t begin = node.offset + node.header_size;
    std::size_t end = begin + node.length;
    tlv_tags::Form form = tlv_tags::lookup(node.tag, parent, options_.family).form;
    bool try_children = form == tlv_tags::Form::constructed ||
                        (form == tlv_tags::Form::encoding && constructed_bit(node.tag));
    if (try_children && node.length > 0 && depth + 1 >= options_.max_depth) {
        doc_.issues.push_back({node.offset,
                               "tag " + tag_hex(node.tag) + " is nested deeper than " +
                                   std::to_string(options_.max_depth) + " levels; kept as bytes",
                               false});
        try_children = false;
    }
    if (try_children) {
        std::vector<TlvNode> children;
        std::string error;
        std::size_t issues_before = doc_.issues.size();
        std::optional<std::size_t> stop =
            sequence(begin, end, depth + 1, node.tag, children, error);
        if (!stop) {
            node.constructed = true;
            node.children = std::move(children);
            return;
        }
        doc_.issues.resize(issues_before);  // the children's own warnings no longer apply
        doc_.issues.push_back({node.offset,
                               "the value of tag " + tag_hex(node.tag) + " is not BER-TLV (" +
                                   error + " at offset " + std::to_string(*stop) +
                                   "); kept as bytes",
                               false});
    }
    node.value.assign(input_.begin() + long(begin), input_.begin() + long(end));
}

void append_length(Bytes& out, std::size_t length) {
    if (length < 0x80) {
        out.push_back(std::uint8_t(length));
        return;
    }
    if (length > 0xFFFFFFFFu)
        throw Error(CoreCode::usage, "encode TLV", "a value over 4 GiB");
    std::size_t count = length > 0xFFFFFF ? 4 : length > 0xFFFF ? 3 : length > 0xFF ? 2 : 1;
    out.push_back(std::uint8_t(0x80 | count));
    for (std::size_t i = count; i-- > 0;)
        out.push_back(std::uint8_t(length >> (8 * i)));
}

void append_tag(Bytes& out, std::uint32_t tag) {
    Bytes bytes;
    for (std::uint32_t t = tag; t != 0 || bytes.empty(); t >>= 8)
        bytes.insert(bytes.begin(), std::uint8_t(t));
    // A valid tag: one byte without 1F low bits, or 1F-form followed by bytes whose bit 8
    // is set except on the last.
    bool valid = bytes.size() == 1 ? (bytes[0] & 0x1F) != 0x1F : (bytes[0] & 0x1F) == 0x1F;
    for (std::size_t i = 1; valid && i < bytes.size(); ++i)
        valid = ((bytes[i] & 0x80) != 0) == (i + 1 < bytes.size());
    if (!valid)
        throw Error(CoreCode::usage, "encode TLV", "tag " + tag_hex(tag) + " is not a BER tag");
    out.insert(out.end(), bytes.begin(), bytes.end());
}

void encode_into(Bytes& out, const TlvNode& node) {
    Bytes value;
    if (node.constructed) {
        for (const TlvNode& child : node.children)
            encode_into(value, child);
    } else {
        value = node.value;
    }
    append_tag(out, node.tag);
    append_length(out, value.size());
    out.insert(out.end(), value.begin(), value.end());
}

const TlvNode* find_in(std::span<const TlvNode> nodes, std::uint32_t tag) {
    for (const TlvNode& node : nodes) {
        if (node.tag == tag)
            return &node;
        if (const TlvNode* found = find_in(node.children, tag))
            return found;
    }
    return nullptr;
}

std::uint32_t object_id(const Bytes& value) {
    if (value.empty() || value.size() > 3)
        return 0xFFFFFFFF;
    std::uint32_t id = 0;
    for (std::uint8_t b : value)
        id = id << 8 | b;
    return id;
}

nlohmann::json node_json(const TlvNode& node, std::uint32_t parent, TagFamily family) {
    nlohmann::json j;
    j["tag"] = tag_hex(node.tag);
    std::string_view name = tag_name(node.tag, parent, family);
    j["name"] = name.empty() ? nullptr : nlohmann::json(std::string(name));
    j["offset"] = node.offset;
    j["length"] = node.length;
    if (node.constructed) {
        nlohmann::json children = nlohmann::json::array();
        for (const TlvNode& child : node.children)
            children.push_back(node_json(child, node.tag, family));
        j["children"] = std::move(children);
        return j;
    }
    j["value"] = to_hex(node.value);
    if (node.tag == 0x5C && family == TagFamily::piv) {
        std::string_view object = piv_object_name(object_id(node.value));
        if (!object.empty())
            j["object"] = std::string(object);
    }
    return j;
}

}  // namespace

TlvNode TlvNode::primitive(std::uint32_t tag, Bytes value) {
    TlvNode node;
    node.tag = tag;
    node.length = value.size();
    node.value = std::move(value);
    return node;
}

TlvNode TlvNode::nest(std::uint32_t tag, std::vector<TlvNode> children) {
    TlvNode node;
    node.tag = tag;
    node.constructed = true;
    node.children = std::move(children);
    return node;
}

const TlvNode* TlvNode::find(std::uint32_t wanted) const {
    return find_in(children, wanted);
}

bool TlvDocument::has_errors() const {
    for (const TlvIssue& issue : issues) {
        if (issue.error)
            return true;
    }
    return false;
}

const TlvNode* TlvDocument::find(std::uint32_t tag) const {
    return find_in(nodes, tag);
}

TlvDocument parse_tlv(std::span<const std::uint8_t> bytes, const TlvOptions& options) {
    TlvDocument doc;
    if (bytes.size() > options.max_size) {
        doc.issues.push_back({0,
                              "the input has " + std::to_string(bytes.size()) +
                                  " bytes, more than the limit of " +
                                  std::to_string(options.max_size),
                              true});
        return doc;
    }
    Reader reader(bytes, options, doc);
    std::string error;
    std::optional<std::size_t> stop = reader.sequence(0, bytes.size(), 0, 0, doc.nodes, error);
    if (stop) {
        doc.issues.push_back(
            {*stop,
             error + "; " + std::to_string(bytes.size() - *stop) + " trailing bytes not decoded",
             true});
    }
    return doc;
}

Bytes encode_tlv(const TlvNode& node) {
    Bytes out;
    encode_into(out, node);
    return out;
}

Bytes encode_tlv(std::span<const TlvNode> nodes) {
    Bytes out;
    for (const TlvNode& node : nodes)
        encode_into(out, node);
    return out;
}

std::string tag_hex(std::uint32_t tag) {
    char buf[16];
    int width = tag > 0xFFFFFF ? 8 : tag > 0xFFFF ? 6 : tag > 0xFF ? 4 : 2;
    std::snprintf(buf, sizeof buf, "%0*X", width, unsigned(tag));
    return buf;
}

nlohmann::json tlv_to_json(const TlvDocument& doc, TagFamily family) {
    nlohmann::json nodes = nlohmann::json::array();
    for (const TlvNode& node : doc.nodes)
        nodes.push_back(node_json(node, 0, family));
    nlohmann::json issues = nlohmann::json::array();
    for (const TlvIssue& issue : doc.issues) {
        issues.push_back({{"offset", issue.offset},
                          {"severity", issue.error ? "error" : "warning"},
                          {"message", issue.what}});
    }
    return {{"nodes", std::move(nodes)}, {"issues", std::move(issues)}};
}

}  // namespace cac
