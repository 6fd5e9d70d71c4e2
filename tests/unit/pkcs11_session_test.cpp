#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/pkcs11/session.hpp"
#include "core/util/error.hpp"
#include "core/util/log.hpp"
#include "pkcs11_fake.hpp"

using namespace cac;
using namespace cac::test;

namespace {

// Captures log lines for the duration of a test, with tracing on.
struct CapturedLog {
    std::vector<std::string> lines;
    CapturedLog() {
        log::set_trace(true);
        log::set_sink([this](std::string_view line) { lines.emplace_back(line); });
    }
    ~CapturedLog() {
        log::set_sink(nullptr);
        log::set_trace(false);
    }
    std::string all() const {
        std::string text;
        for (const auto& line : lines)
            text += line;
        return text;
    }
};

}  // namespace

TEST_CASE("a session is closed when its owner goes away") {
    FakeModule fake;
    {
        Session session(fake.cryptoki(), 3);
        CHECK(session.handle() == 7);
        CHECK(session.info().state == CKS_RO_PUBLIC_SESSION);
        Session moved = std::move(session);
        CHECK(fake.count("C_CloseSession") == 0);
    }
    CHECK(fake.count("C_CloseSession") == 1);
}

TEST_CASE("a session that cannot be opened is an error naming the slot") {
    FakeModule fake;
    fake.open_session_rv = CKR_TOKEN_NOT_PRESENT;
    try {
        Session session(fake.cryptoki(), 3);
        FAIL("no error");
    } catch (const Error& error) {
        CHECK(error.is(ErrorDomain::pkcs11, CKR_TOKEN_NOT_PRESENT));
        CHECK(error.context().slot == "3");
    }
    CHECK(fake.count("C_CloseSession") == 0);
}

TEST_CASE("a successful login is logged out by its owner") {
    FakeModule fake;
    std::string seen;
    fake.login = [&seen](CK_USER_TYPE user, const unsigned char* pin, CK_ULONG len) {
        CHECK(user == CKU_USER);
        seen.assign(reinterpret_cast<const char*>(pin), len);
        return CKR_OK;
    };
    Session session(fake.cryptoki(), 0);
    {
        Secret pin("123456");
        Login login(session, UserType::user, pin);
        CHECK(login.logged_in_here());
    }
    CHECK(seen == "123456");
    CHECK(fake.count("C_Logout") == 1);
}

TEST_CASE("login failures carry the module's code, are not retried, and log nothing out") {
    for (CK_RV rv : {CKR_PIN_INCORRECT, CKR_PIN_LOCKED, CKR_PIN_LEN_RANGE, CKR_PIN_EXPIRED,
                     CKR_USER_PIN_NOT_INITIALIZED, CKR_DEVICE_REMOVED}) {
        CAPTURE(rv);
        FakeModule fake;
        fake.login = [rv](CK_USER_TYPE, const unsigned char*, CK_ULONG) { return rv; };
        Session session(fake.cryptoki(), 0);
        Secret pin("000000");
        try {
            Login login(session, UserType::user, pin);
            FAIL("no error");
        } catch (const Error& error) {
            CHECK(error.is(ErrorDomain::pkcs11, std::uint32_t(rv)));
            CHECK(error.operation() == "C_Login");
        }
        CHECK(fake.count("C_Login") == 1);
        CHECK(fake.count("C_Logout") == 0);
    }
}

TEST_CASE("an SO login uses CKU_SO") {
    FakeModule fake;
    CK_USER_TYPE seen = 99;
    fake.login = [&seen](CK_USER_TYPE user, const unsigned char*, CK_ULONG) {
        seen = user;
        return CKR_OK;
    };
    Session session(fake.cryptoki(), 0);
    Secret pin("12345678");
    Login login(session, UserType::so, pin);
    CHECK(seen == CKU_SO);
}

TEST_CASE("a protected authentication path login passes a NULL PIN") {
    FakeModule fake;
    bool null_pin = false;
    fake.login = [&null_pin](CK_USER_TYPE, const unsigned char* pin, CK_ULONG len) {
        null_pin = pin == nullptr && len == 0;
        return CKR_OK;
    };
    Session session(fake.cryptoki(), 0);
    { Login login(session, UserType::user); }
    CHECK(null_pin);
    CHECK(fake.count("C_Logout") == 1);
}

TEST_CASE("an already logged-in session is not logged out by us") {
    FakeModule fake;
    fake.login = [](CK_USER_TYPE, const unsigned char*, CK_ULONG) {
        return CKR_USER_ALREADY_LOGGED_IN;
    };
    Session session(fake.cryptoki(), 0);
    {
        Secret pin("123456");
        Login login(session, UserType::user, pin);
        CHECK_FALSE(login.logged_in_here());
    }
    CHECK(fake.count("C_Logout") == 0);
}

TEST_CASE("the trace names each call with its arguments, result and duration, PIN masked") {
    FakeModule fake;
    fake.login = [](CK_USER_TYPE, const unsigned char*, CK_ULONG) { return CKR_PIN_INCORRECT; };
    CapturedLog captured;
    Session session(fake.cryptoki(), 2);
    Secret pin("918273");
    CHECK_THROWS_AS(Login(session, UserType::user, pin), Error);
    std::string text = captured.all();
    CHECK(text.find("918273") == std::string::npos);
    CHECK(text.find("9182") == std::string::npos);
    REQUIRE(captured.lines.size() == 2);
    CHECK(captured.lines[0].rfind("trace: pkcs11: C_OpenSession(slot=2, flags=0x4", 0) == 0);
    CHECK(captured.lines[1].find(
              "C_Login(session=7, user=CKU_USER, pin=<masked>) = CKR_PIN_INCORRECT (") !=
          std::string::npos);
    CHECK(captured.lines[1].find(" ms)\n") != std::string::npos);
}

TEST_CASE("the trace does not tell the PIN's length") {
    FakeModule fake;
    fake.login = [](CK_USER_TYPE, const unsigned char*, CK_ULONG) { return CKR_OK; };
    CapturedLog captured;
    Session session(fake.cryptoki(), 0);
    for (const char* digits : {"123456", "12345678"}) {
        Secret pin(digits);
        Login login(session, UserType::user, pin);
    }
    { Login pin_pad(session, UserType::user); }
    std::vector<std::string> pins;
    for (const auto& line : captured.lines) {
        if (line.find("C_Login(") == std::string::npos)
            continue;
        std::size_t start = line.find("pin=");
        REQUIRE(start != std::string::npos);
        pins.push_back(line.substr(start, line.find(") = ", start) - start));
    }
    CHECK(pins == std::vector<std::string>{"pin=<masked>", "pin=<masked>",
                                           "pin=NULL (protected authentication path)"});
}

TEST_CASE("without --trace nothing is written") {
    FakeModule fake;
    std::vector<std::string> lines;
    log::set_sink([&lines](std::string_view line) { lines.emplace_back(line); });
    { Session session(fake.cryptoki(), 0); }
    log::set_sink(nullptr);
    CHECK(lines.empty());
}

TEST_CASE("a function the module leaves empty answers CKR_FUNCTION_NOT_SUPPORTED") {
    FakeModule fake;
    fake.list.C_GetSessionInfo = nullptr;
    CK_SESSION_INFO info{};
    CHECK(fake.cryptoki().get_session_info(7, &info) == CKR_FUNCTION_NOT_SUPPORTED);
}
