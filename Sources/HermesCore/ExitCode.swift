/// Exit statuses shared by every Hermes tool (docs/ARCHITECTURE.md, "Exit codes"; from sysexits.h).
public enum ExitCode: Int32, Sendable {
    case success = 0
    case measurementFailed = 1
    case usage = 64
    case dataError = 65
    case unavailable = 69
    case cannotCreate = 73
    case ioError = 74
    case temporaryFailure = 75
    case configuration = 78
}
