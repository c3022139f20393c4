#include "runtime/store/transaction.h"

#include "runtime/store/connection.h"

namespace dcnjit::store {

Transaction::Transaction(Connection& connection) : connection_(connection) {
  connection_.execute("BEGIN IMMEDIATE");
  open_ = true;
}

Transaction::~Transaction() {
  if (!open_) return;
  try {
    connection_.execute("ROLLBACK");
  } catch (...) {
    // Nothing sensible to do in a destructor: SQLite rolls back on close anyway.
  }
}

void Transaction::commit() {
  connection_.execute("COMMIT");
  open_ = false;
}

}  // namespace dcnjit::store
