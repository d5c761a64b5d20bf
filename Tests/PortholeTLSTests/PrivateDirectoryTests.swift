import Foundation
import PortholeNIOUtilities
import PortholeTestSupport
import Testing

@Suite struct PrivateDirectoryTests {
    private func mode(_ path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions]) as? Int
    }

    @Test func createsEveryMissingParentOwnerOnly() throws {
        let root = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try PrivateDirectory.create(root + "/a/b/c")
        #expect(mode(root + "/a") == 0o700)
        #expect(mode(root + "/a/b") == 0o700)
        #expect(mode(root + "/a/b/c") == 0o700)
    }

    @Test func leavesAnExistingDirectoryAsItIs() throws {
        let root = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/shared", withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        try PrivateDirectory.create(root + "/shared/own")
        #expect(mode(root + "/shared") == 0o755)
        #expect(mode(root + "/shared/own") == 0o700)
        try PrivateDirectory.create(root + "/shared/own")  // again: nothing to do, no error
    }

    @Test func aFileInTheWayIsNamedInTheError() throws {
        let root = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(FileManager.default.createFile(atPath: root + "/file", contents: Data()))
        let atFile = #expect(throws: PrivateDirectoryError.self) { try PrivateDirectory.create(root + "/file") }
        #expect(atFile?.description == "cannot create directory \(root)/file: exists and is not a directory")
        let below = #expect(throws: PrivateDirectoryError.self) { try PrivateDirectory.create(root + "/file/sub") }
        // The parent is checked first, so the error names the file, not the directory below it.
        #expect(below?.description == atFile?.description)
    }
}
