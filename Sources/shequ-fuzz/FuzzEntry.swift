import Foundation
import Fuzzing

// Built two ways (see `make fuzz`):
// - with `-sanitize=fuzzer -DFUZZING`: hands the command line to libFuzzer's driver, which mutates inputs guided by
//   coverage and stops at the first crash or round-trip violation (SwiftPM names the executable's own `main`, so
//   libFuzzer's is not used; `LLVMFuzzerRunDriver` is its documented entry for that case);
// - as a plain executable: replays the files or directories given (a corpus, a crash) and says which ones fail, or
//   writes the seed corpus.

#if FUZZING
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

@main
struct FuzzDecoders {
    static func main() {
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        let status = LLVMFuzzerRunDriver(&argc, &argv) { data, size in
            let input = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
            do { try DecoderChecks.check(input) } catch { fatalError("\(error)") }
            return 0
        }
        exit(status)
    }
}
#else
@main
struct ReplayCorpus {
    static func main() throws {
        let paths = CommandLine.arguments.dropFirst()
        guard !paths.isEmpty else {
            print("usage: shequ-fuzz FILE|DIRECTORY ...   replays inputs through the decoders (`make fuzz` fuzzes)")
            print("       shequ-fuzz --write-seeds DIRECTORY  writes the seed corpus (real messages, frames, JSON)")
            return
        }
        if paths.first == "--write-seeds", let directory = paths.dropFirst().first {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let seeds = SeedCorpus.inputs()
            for seed in seeds { try Data(seed.bytes).write(to: URL(fileURLWithPath: directory + "/seed-" + seed.name)) }
            print("wrote \(seeds.count) seeds to \(directory)")
            return
        }
        var files: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }
            if isDirectory.boolValue {
                files += try FileManager.default.contentsOfDirectory(atPath: path).sorted().map { path + "/" + $0 }
            } else {
                files.append(path)
            }
        }
        var failed = 0
        for file in files {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
            do { try DecoderChecks.check(bytes) } catch {
                failed += 1
                print("FAIL \(file): \(error)")
            }
        }
        print("replayed \(files.count) inputs, \(failed) failed")
        if failed > 0 { exit(1) }
    }
}
#endif
