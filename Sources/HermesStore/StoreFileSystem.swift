import HermesCore

/// HermesCore's file helpers, with their `IOError`s as the stores' `StoreError.io`.
func storeIO<Value>(_ body: () throws(IOError) -> Value) throws(StoreError) -> Value {
    do throws(IOError) {
        return try body()
    } catch {
        throw StoreError.io(error)
    }
}
