// PIV card data read over APDUs, independent of any PKCS#11 module (NIST SP 800-73-4):
// selecting the application, GET DATA of its objects, the certificate slots and
// containers, the Discovery Object, the CHUID, the CCC, the printed information and the
// key history, PIN verification, and the probe of which card applications answer.
#pragma once

#include "core/piv/application.hpp"
#include "core/piv/ccc.hpp"
#include "core/piv/chuid.hpp"
#include "core/piv/containers.hpp"
#include "core/piv/discovery.hpp"
#include "core/piv/key_history.hpp"
#include "core/piv/pin.hpp"
#include "core/piv/printed.hpp"
#include "core/piv/probe.hpp"
#include "core/piv/slots.hpp"
