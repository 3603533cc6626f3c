#ifndef FURROW_CSQLITE_SHIM_H
#define FURROW_CSQLITE_SHIM_H

// The system SQLite (Debian: libsqlite3-dev), imported into Swift as CSQLite.
#include <sqlite3.h>

#endif
