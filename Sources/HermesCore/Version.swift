/// The version every tool prints for `--version`.
public enum HermesVersion {
    public static let current = "0.1.0"
}
