package bugstack

import (
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

const (
	maxCallers = 128 // program counters recorded, the newest ones: enough for maxFrames after the cuts
	maxFrames  = 100 // frames sent per exception, those nearest the error (what the server keeps)
)

// capturedStack is a goroutine's stack as program counters, newest first, recorded where an error was
// captured or a panic recovered. Turning them into frames waits for the background goroutine: recording
// them is all an error costs the goroutine that reports it.
type capturedStack struct {
	pcs []uintptr
	// panicked: recorded while a panic unwinds, so the runtime's panic machinery and the deferred
	// function that recovered it sit above the frame that panicked, and are cut.
	panicked bool
}

// callers records the calling goroutine's stack; the SDK's own frames at its top are cut later.
func callers(panicked bool) capturedStack {
	pcs := make([]uintptr, maxCallers)
	count := runtime.Callers(2, pcs)
	return capturedStack{pcs: pcs[:count], panicked: panicked}
}

// frames are the stack's frames, oldest first, for the event: the SDK's own frames at the top cut, and
// for a panic everything above the frame that panicked.
func (s capturedStack) frames(rules *frameRules) []Frame {
	if len(s.pcs) == 0 {
		return nil
	}
	newestFirst := make([]runtime.Frame, 0, len(s.pcs))
	iterator := runtime.CallersFrames(s.pcs)
	for {
		frame, more := iterator.Next()
		newestFirst = append(newestFirst, frame)
		if !more {
			break
		}
	}
	newestFirst = cutTop(newestFirst, s.panicked)
	if len(newestFirst) > maxFrames {
		newestFirst = newestFirst[:maxFrames]
	}
	frames := make([]Frame, len(newestFirst))
	for index, frame := range newestFirst {
		frames[len(frames)-1-index] = rules.frame(frame)
	}
	return frames
}

// cutTop removes, from the newest end, the SDK's own frames; for a panic also runtime.gopanic and all
// above it (the deferred function that recovered), then the runtime's frames that raised the panic
// (runtime.panicIndex, runtime.sigpanic…), so the last frame left is the code that panicked.
func cutTop(newestFirst []runtime.Frame, panicked bool) []runtime.Frame {
	if panicked {
		for index, frame := range newestFirst {
			if frame.Function == "runtime.gopanic" {
				newestFirst = newestFirst[index+1:]
				for len(newestFirst) > 0 && packageName(newestFirst[0].Function) == "runtime" {
					newestFirst = newestFirst[1:]
				}
				return newestFirst
			}
		}
	}
	for len(newestFirst) > 0 && underPath(packageName(newestFirst[0].Function), sdkPackage) {
		newestFirst = newestFirst[1:]
	}
	return newestFirst
}

// splitFunction splits a runtime function name into its package path and the function:
// "example.com/shop/orders.(*Cart).Total.func1" → "example.com/shop/orders", "(*Cart).Total.func1".
func (b *build) splitFunction(name string) (pkg, function string) {
	start := strings.LastIndexByte(name, '/') + 1
	dot := strings.IndexByte(name[start:], '.')
	if dot < 0 {
		return "", name
	}
	pkg = name[:start+dot]
	// A module path may hold a dot in its last element (gopkg.in/yaml.v3): a listed module wins.
	for _, module := range b.modulePaths {
		if len(module) > len(pkg) && strings.HasPrefix(name, module+".") {
			pkg = module
			break
		}
	}
	return pkg, name[len(pkg)+1:]
}

func packageName(function string) string {
	pkg, _ := readBuild().splitFunction(function)
	return pkg
}

// frameRules decide what of a stack is the app's own and name its files.
type frameRules struct {
	build    *build
	prefixes []string
	roots    moduleRoots
}

func newFrameRules(prefixes []string) *frameRules {
	return &frameRules{build: readBuild(), prefixes: prefixes}
}

func (r *frameRules) frame(frame runtime.Frame) Frame {
	pkg, function := r.build.splitFunction(frame.Function)
	if function == "" {
		function = frame.Function
	}
	return Frame{
		Filename: r.filename(pkg, frame.File),
		AbsPath:  frame.File,
		Module:   pkg,
		Function: function,
		Lineno:   frame.Line,
		InApp:    r.inApp(pkg),
	}
}

// inApp: the main package, the main module's packages and those under InAppPrefixes; never the standard
// library, the runtime or this SDK.
func (r *frameRules) inApp(pkg string) bool {
	if pkg == "" || r.isStandard(pkg) || underPath(pkg, sdkPackage) {
		return false
	}
	if pkg == "main" || (r.build.mainPath != "" && underPath(testedPackage(pkg), r.build.mainPath)) {
		return true
	}
	for _, prefix := range r.prefixes {
		if underPath(pkg, prefix) {
			return true
		}
	}
	return false
}

// isStandard: the standard library's import paths have no dot in their first element, modules' do
// (a main module named without one is the exception, and listed).
func (r *frameRules) isStandard(pkg string) bool {
	first := pkg
	if slash := strings.IndexByte(pkg, '/'); slash >= 0 {
		first = pkg[:slash]
	}
	return pkg != "main" && !strings.Contains(first, ".") && r.build.moduleOf(pkg) == ""
}

// filename is the file's path relative to its module: "handlers/orders.go" in the app, "mux.go" in a
// dependency at its module's root, "net/http/server.go" in the standard library. A package's folder is
// its import path below its module's; the main package's has no import path, so its module's root is
// found on disk (the folder with go.mod) or, under -trimpath, in the recorded path.
func (r *frameRules) filename(pkg, file string) string {
	base := path.Base(filepath.ToSlash(file))
	if pkg == "main" {
		return r.mainFilename(file, base)
	}
	dir := testedPackage(pkg)
	if module := r.build.moduleOf(dir); module != "" {
		dir = strings.TrimPrefix(dir[len(module):], "/")
	}
	if dir == "" {
		return base
	}
	return dir + "/" + base
}

func (r *frameRules) mainFilename(file, base string) string {
	slashed := filepath.ToSlash(file)
	if root := r.build.mainPath; root != "" && strings.HasPrefix(slashed, root+"/") {
		return slashed[len(root)+1:] // built with -trimpath
	}
	if root := r.roots.of(filepath.Dir(file)); root != "" {
		if relative, err := filepath.Rel(root, file); err == nil {
			return filepath.ToSlash(relative)
		}
	}
	return base
}

// testedPackage is the package an external test package ("example.com/shop_test") tests: it lives in
// that package's folder.
func testedPackage(pkg string) string {
	return strings.TrimSuffix(pkg, "_test")
}

// moduleRoots finds, and remembers, the folder holding go.mod above a source folder.
type moduleRoots struct {
	mu    sync.Mutex
	roots map[string]string
}

const (
	maxModuleDepth = 16  // folders climbed looking for go.mod
	maxRootsCached = 256 // source folders remembered
)

func (m *moduleRoots) of(dir string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if root, ok := m.roots[dir]; ok {
		return root
	}
	root := findModuleRoot(dir)
	if m.roots == nil || len(m.roots) >= maxRootsCached {
		m.roots = make(map[string]string)
	}
	m.roots[dir] = root
	return root
}

func findModuleRoot(dir string) string {
	if !filepath.IsAbs(dir) {
		return ""
	}
	for depth := 0; depth < maxModuleDepth; depth++ {
		if info, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil && info.Mode().IsRegular() {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return ""
}
