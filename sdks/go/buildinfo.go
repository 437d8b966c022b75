package bugstack

import (
	"reflect"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
)

// build is what the binary says about itself, read once: Go records it at link time and it never changes.
type build struct {
	mainPath string            // the main module's path; empty in test binaries before Go 1.21
	revision string            // the VCS revision Go stamped, if it did
	modules  map[string]string // every dependency, path → version
	// modulePaths are the main module's and the dependencies' paths, longest first, so the first that
	// prefixes a package path is the module it belongs to.
	modulePaths []string
}

var (
	buildOnce sync.Once
	buildInfo build
)

// sdkPackage is this package's import path: its frames are never the app's.
var sdkPackage = reflect.TypeOf(Client{}).PkgPath()

func readBuild() *build {
	buildOnce.Do(func() {
		info, ok := debug.ReadBuildInfo()
		if !ok {
			return
		}
		buildInfo = build{mainPath: info.Main.Path, modules: make(map[string]string, len(info.Deps))}
		for _, setting := range info.Settings {
			if setting.Key == "vcs.revision" {
				buildInfo.revision = setting.Value
			}
		}
		if info.Main.Path != "" {
			buildInfo.modulePaths = append(buildInfo.modulePaths, info.Main.Path)
		}
		for _, dep := range info.Deps {
			buildInfo.modules[dep.Path] = moduleVersion(dep)
			buildInfo.modulePaths = append(buildInfo.modulePaths, dep.Path)
		}
		sort.Slice(buildInfo.modulePaths, func(i, j int) bool {
			return len(buildInfo.modulePaths[i]) > len(buildInfo.modulePaths[j])
		})
	})
	return &buildInfo
}

// moduleVersion is the version a dependency was built at; a replaced one says what replaced it.
func moduleVersion(dep *debug.Module) string {
	if dep.Replace == nil {
		return dep.Version
	}
	if dep.Replace.Version != "" {
		return dep.Replace.Version
	}
	return dep.Replace.Path
}

func buildRevision() string {
	return readBuild().revision
}

// moduleOf is the path of the module that holds the package at `packagePath`, or "" (the standard
// library, or a module the build info does not list).
func (b *build) moduleOf(packagePath string) string {
	for _, module := range b.modulePaths {
		if underPath(packagePath, module) {
			return module
		}
	}
	return ""
}

// underPath says whether `packagePath` is `root` or a package below it.
func underPath(packagePath, root string) bool {
	return packagePath == root || (strings.HasPrefix(packagePath, root) && packagePath[len(root)] == '/')
}
