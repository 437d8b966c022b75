package bugstack

import (
	"os"
	"path/filepath"
	"testing"
)

func shopRules(t *testing.T, prefixes ...string) *frameRules {
	t.Helper()
	return &frameRules{
		build: &build{
			mainPath:    "example.com/shop",
			modulePaths: []string{"github.com/go-chi/chi/v5", "example.com/shop", "gopkg.in/yaml.v3"},
		},
		prefixes: prefixes,
	}
}

func TestFilesAreNamedRelativeToTheirModule(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "cmd", "server"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("module example.com/shop\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rules := shopRules(t)
	cases := []struct{ pkg, file, want string }{
		{"example.com/shop/handlers", "/srv/shop/handlers/orders.go", "handlers/orders.go"},
		{"example.com/shop", "/srv/shop/shop.go", "shop.go"},
		{"example.com/shop/handlers_test", "/srv/shop/handlers/orders_test.go", "handlers/orders_test.go"},
		{"github.com/go-chi/chi/v5", "/go/pkg/mod/github.com/go-chi/chi/v5@v5.0.8/mux.go", "mux.go"},
		{"net/http", "/usr/lib/go/src/net/http/server.go", "net/http/server.go"},
		{"main", filepath.Join(root, "cmd", "server", "main.go"), "cmd/server/main.go"},
		{"main", "example.com/shop/cmd/server/main.go", "cmd/server/main.go"}, // built with -trimpath
		{"main", "/nowhere/main.go", "main.go"},
	}
	for _, c := range cases {
		if got := rules.filename(c.pkg, c.file); got != c.want {
			t.Errorf("%s in %s: %q, want %q", c.file, c.pkg, got, c.want)
		}
	}
}

func TestInAppIsTheMainModuleAndThePrefixesButNeverTheStandardLibraryOrTheSDK(t *testing.T) {
	rules := shopRules(t, "github.com/acme/billing")
	cases := map[string]bool{
		"main":                           true,
		"example.com/shop":               true,
		"example.com/shop/handlers":      true,
		"example.com/shop/handlers_test": true,
		"example.com/shopping":           false,
		"github.com/acme/billing/tax":    true,
		"github.com/go-chi/chi/v5":       false,
		"net/http":                       false,
		"runtime":                        false,
		sdkPackage:                       false,
	}
	for pkg, want := range cases {
		if got := rules.inApp(pkg); got != want {
			t.Errorf("%s: in_app %v, want %v", pkg, got, want)
		}
	}
}

func TestFunctionNamesSplitIntoPackageAndFunction(t *testing.T) {
	rules := shopRules(t)
	cases := map[string][2]string{
		"example.com/shop/orders.(*Cart).Total.func1": {"example.com/shop/orders", "(*Cart).Total.func1"},
		"main.main":                      {"main", "main"},
		"net/http.HandlerFunc.ServeHTTP": {"net/http", "HandlerFunc.ServeHTTP"},
		"gopkg.in/yaml.v3.Unmarshal":     {"gopkg.in/yaml.v3", "Unmarshal"},
	}
	for name, want := range cases {
		if pkg, function := rules.build.splitFunction(name); pkg != want[0] || function != want[1] {
			t.Errorf("%s: %q %q", name, pkg, function)
		}
	}
}

func TestSourceLinesAreReadOnlyFromGoFilesOfBoundedSize(t *testing.T) {
	dir := t.TempDir()
	goFile := filepath.Join(dir, "orders.go")
	secret := filepath.Join(dir, "secrets.env")
	big := filepath.Join(dir, "big.go")
	for path, content := range map[string]string{goFile: "a\nb\nc\nd\n", secret: "a\nb\n", big: string(make([]byte, maxSourceBytes+1))} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	frames := []Frame{{AbsPath: goFile, Lineno: 2}, {AbsPath: secret, Lineno: 1}, {AbsPath: big, Lineno: 1}}
	newSourceCache().addContext(frames)
	if frames[0].ContextLine != "b" || len(frames[0].PreContext) != 1 || len(frames[0].PostContext) != 3 {
		t.Errorf("orders.go: %+v", frames[0])
	}
	if frames[1].ContextLine != "" || frames[2].ContextLine != "" {
		t.Errorf("read what it must not: %+v %+v", frames[1], frames[2])
	}
}
