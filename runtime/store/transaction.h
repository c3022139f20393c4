// Transaction: BEGIN IMMEDIATE ... COMMIT as a scope guard. IMMEDIATE takes the write lock up front,
// so two writers queue on the busy timeout at BEGIN instead of deadlocking on a read-to-write upgrade.
// Keep these short: never hold one while compiling or timing.
#pragma once

namespace dcnjit::store {

class Connection;

class Transaction {
 public:
  explicit Transaction(Connection& connection);
  ~Transaction();  // rolls back unless committed
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  void commit();

 private:
  Connection& connection_;
  bool open_ = false;
};

}  // namespace dcnjit::store
