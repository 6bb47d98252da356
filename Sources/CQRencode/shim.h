#ifndef SHEQU_CQRENCODE_SHIM_H
#define SHEQU_CQRENCODE_SHIM_H
// libqrencode from Debian's libqrencode-dev: the join-code QR posters.
#include <qrencode.h>
#endif
