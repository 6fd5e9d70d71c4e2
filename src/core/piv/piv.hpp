// PIV card data read over APDUs, independent of any PKCS#11 module (NIST SP 800-73-4):
// selecting the application, GET DATA of its objects, the certificate slots and
// containers, the Discovery Object and the CHUID, and PIN verification.
#pragma once

#include "core/piv/application.hpp"
#include "core/piv/chuid.hpp"
#include "core/piv/containers.hpp"
#include "core/piv/discovery.hpp"
#include "core/piv/pin.hpp"
#include "core/piv/slots.hpp"
