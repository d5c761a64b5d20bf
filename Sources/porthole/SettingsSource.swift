import ArgumentParser
import Foundation

/// Resolves each setting from, in order: its command-line flag, its `PORTHOLE_…` environment
/// variable, its key in the config file, its built-in default. One name serves all three:
/// flag `--https-port`, variable `PORTHOLE_HTTPS_PORT`, config key `https-port`.
struct SettingsSource {
    private let environment: [String: String]
    private let file: [String: Any]
    let configPath: String?

    /// `known`: the setting names of the command, which a config file may use.
    init(
        configPath: String?, known names: [String] = ServeSettings.names,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws {
        self.environment = environment
        let path = configPath ?? environment["PORTHOLE_CONFIG"]
        self.configPath = path
        guard let path else {
            file = [:]
            return
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("cannot read config file \(path)")
        }
        do {
            guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw ValidationError("config file \(path) must be a JSON object of setting names to values")
            }
            file = object
        } catch let error as ValidationError {
            throw error
        } catch {
            throw ValidationError("config file \(path) is not valid JSON: \(error.localizedDescription)")
        }
        let known = Set(names)
        if let unknown = file.keys.sorted().first(where: { !known.contains($0) }) {
            throw ValidationError("config file \(path): unknown setting \"\(unknown)\" (known: \(names.joined(separator: ", ")))")
        }
    }

    static func environmentName(_ name: String) -> String {
        "PORTHOLE_" + name.uppercased().replacingOccurrences(of: "-", with: "_")
    }

    func string(_ name: String, flag: String?, default defaultValue: String) -> String {
        if let flag { return flag }
        if let value = environment[Self.environmentName(name)] { return value }
        if let value = file[name] { return "\(value)" }
        return defaultValue
    }

    func optionalString(_ name: String, flag: String?) -> String? {
        if let flag { return flag }
        if let value = environment[Self.environmentName(name)] { return value }
        if let value = file[name] { return "\(value)" }
        return nil
    }

    func int(_ name: String, flag: Int?, default defaultValue: Int, range: ClosedRange<Int>) throws -> Int {
        let text = optionalString(name, flag: flag.map(String.init)) ?? String(defaultValue)
        guard let value = Int(text), range.contains(value) else {
            throw ValidationError("\(name) must be a whole number in \(range.lowerBound)…\(range.upperBound), got \"\(text)\"")
        }
        return value
    }

    /// A yes/no setting: the flag (present means yes), else `true`/`false` (or `1`/`0`, `yes`/`no`,
    /// `on`/`off`) from the variable or the file.
    func bool(_ name: String, flag: Bool, default defaultValue: Bool) throws -> Bool {
        if flag { return true }
        guard let text = optionalString(name, flag: nil) else { return defaultValue }
        guard let value = Self.parseBool(text) else {
            throw ValidationError("\(name) must be true or false, got \"\(text)\"")
        }
        return value
    }

    static func parseBool(_ text: String) -> Bool? {
        switch text.trimmingCharacters(in: .whitespaces).lowercased() {
        case "true", "1", "yes", "on": true
        case "false", "0", "no", "off": false
        default: nil
        }
    }

    /// A list setting: repeated flags, a comma-separated variable, or a JSON array (or string) in the file.
    func list(_ name: String, flags: [String], default defaultValue: [String]) -> [String] {
        if !flags.isEmpty { return flags }
        if let value = environment[Self.environmentName(name)] { return Self.split(value) }
        if let array = file[name] as? [Any] { return array.map { "\($0)" } }
        if let value = file[name] { return Self.split("\(value)") }
        return defaultValue
    }

    private static func split(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
