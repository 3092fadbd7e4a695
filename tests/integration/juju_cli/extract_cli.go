// Command extract_cli prints, as JSON, the juju CLI's commands and the flags each accepts,
// read from Juju's Go source (go/ast only: no build, no dependencies, so a 2-core machine
// extracts a release in seconds). tools/juju-cli-table runs it; read that script first.
//
// Usage: go run extract_cli.go -commands PREFIX[,PREFIX...] PACKAGE=DIR [PACKAGE=DIR...]
//
// Every non-test Go file under each DIR is parsed as the package PACKAGE (and those under
// it). A command is a type, in a package under one of the PREFIXes (the juju client's own,
// not the agents'), whose Info method builds a cmd.Info{Name: ...}; its flags are what its SetFlags
// method registers on the gnuflag.FlagSet (f.StringVar(&x, "name", ...), f.Var(v,
// "name", ...)), plus those of every field or embedded base whose SetFlags or AddFlags
// it calls (c.ModelCommandBase.SetFlags(f), c.out.AddFlags(f, ...)), or, without a
// SetFlags of its own, those of its embedded bases. A command built on ModelCommandBase
// or ControllerCommandBase also gets the flags of the wrapper Juju registers it in
// (-m/--model, -c/--controller). Global flags are SuperCommand.SetCommonFlags' and
// Log.AddFlags'. What static reading cannot see (a flag added through an interface, or a
// command wrapped without its model flags) errs on the side of a flag too many, never one
// too few: the table can only fail a call Juju would refuse.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Functions of gnuflag.FlagSet that define a flag, and whether it takes no value.
var flagFuncs = map[string]bool{
	"BoolVar": true, "StringVar": false, "IntVar": false, "Int64Var": false,
	"UintVar": false, "Uint64Var": false, "Float64Var": false, "DurationVar": false,
	"Var": false,
}

// The wrapper Juju registers a command in, by the base the command embeds.
var wrappers = map[string]string{
	"ModelCommandBase":      "modelCommandWrapper",
	"ControllerCommandBase": "controllerCommandWrapper",
}

type typeInfo struct {
	pkg     string
	fields  map[string]ast.Expr // field name (embedded: the type's name) -> type
	embeds  []ast.Expr
	imports map[string]string // local name -> import path, of the declaring file
}

type method struct {
	recv    string // the receiver variable's name
	flagSet string // the name of its first parameter (the FlagSet, in a SetFlags)
	body    *ast.BlockStmt
	imports map[string]string
}

type extractor struct {
	types   map[string]*typeInfo          // "pkg.Type"
	methods map[string]map[string]*method // "pkg.Type" -> method name
	byName  map[string][]string           // bare type name -> "pkg.Type" keys
	memo    map[string]map[string]bool
	// Packages whose commands are the juju client's.
	commandPackages []string
}

func main() {
	x := &extractor{
		types:   map[string]*typeInfo{},
		methods: map[string]map[string]*method{},
		byName:  map[string][]string{},
		memo:    map[string]map[string]bool{},
	}
	prefixes := flag.String("commands", "", "comma-separated package prefixes of the client's commands")
	flag.Parse()
	x.commandPackages = strings.Split(*prefixes, ",")
	for _, arg := range flag.Args() {
		module, dir, ok := strings.Cut(arg, "=")
		if !ok {
			fail(fmt.Errorf("not PACKAGE=DIR: %s", arg))
		}
		fail(x.parseModule(module, dir))
	}
	fail(json.NewEncoder(os.Stdout).Encode(x.table()))
}

func fail(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "extract_cli:", err)
		os.Exit(1)
	}
}

func (x *extractor) parseModule(module, dir string) error {
	fset := token.NewFileSet()
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, err := filepath.Rel(dir, filepath.Dir(path))
		if err != nil {
			return err
		}
		pkg := module
		if rel != "." {
			pkg = module + "/" + filepath.ToSlash(rel)
		}
		file, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil // a file for another Go version or a generator template: not CLI code
		}
		x.addFile(pkg, file)
		return nil
	})
}

func (x *extractor) addFile(pkg string, file *ast.File) {
	imports := map[string]string{}
	for _, spec := range file.Imports {
		path, _ := strconv.Unquote(spec.Path.Value)
		name := path[strings.LastIndex(path, "/")+1:]
		if strings.HasPrefix(name, "v") && len(name) > 1 && strings.Trim(name[1:], "0123456789") == "" {
			trimmed := strings.TrimSuffix(path, "/"+name)
			name = trimmed[strings.LastIndex(trimmed, "/")+1:]
		}
		if spec.Name != nil {
			name = spec.Name.Name
		}
		imports[name] = path
	}
	for _, decl := range file.Decls {
		switch d := decl.(type) {
		case *ast.GenDecl:
			for _, spec := range d.Specs {
				ts, ok := spec.(*ast.TypeSpec)
				if !ok {
					continue
				}
				st, ok := ts.Type.(*ast.StructType)
				if !ok {
					continue
				}
				info := &typeInfo{pkg: pkg, fields: map[string]ast.Expr{}, imports: imports}
				for _, field := range st.Fields.List {
					if len(field.Names) == 0 {
						info.embeds = append(info.embeds, field.Type)
						info.fields[bareName(field.Type)] = field.Type
					}
					for _, name := range field.Names {
						info.fields[name.Name] = field.Type
					}
				}
				key := pkg + "." + ts.Name.Name
				x.types[key] = info
				x.byName[ts.Name.Name] = append(x.byName[ts.Name.Name], key)
			}
		case *ast.FuncDecl:
			if d.Recv == nil || len(d.Recv.List) != 1 || d.Body == nil {
				continue
			}
			recv := d.Recv.List[0]
			key := pkg + "." + bareName(recv.Type)
			if x.methods[key] == nil {
				x.methods[key] = map[string]*method{}
			}
			name := "_"
			if len(recv.Names) == 1 {
				name = recv.Names[0].Name
			}
			flagSet := ""
			if params := d.Type.Params.List; len(params) > 0 && len(params[0].Names) > 0 {
				flagSet = params[0].Names[0].Name
			}
			x.methods[key][d.Name.Name] = &method{
				recv: name, flagSet: flagSet, body: d.Body, imports: imports,
			}
		}
	}
}

// bareName is the name of a type expression without pointer, package or type arguments.
func bareName(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.StarExpr:
		return bareName(t.X)
	case *ast.SelectorExpr:
		return t.Sel.Name
	case *ast.Ident:
		return t.Name
	case *ast.IndexExpr:
		return bareName(t.X)
	}
	return ""
}

// resolve names the type key of a type expression written in package pkg.
func (x *extractor) resolve(e ast.Expr, pkg string, imports map[string]string) string {
	switch t := e.(type) {
	case *ast.StarExpr:
		return x.resolve(t.X, pkg, imports)
	case *ast.Ident:
		return pkg + "." + t.Name
	case *ast.SelectorExpr:
		if id, ok := t.X.(*ast.Ident); ok {
			return imports[id.Name] + "." + t.Sel.Name
		}
	}
	return ""
}

// flags of a type: of its SetFlags if it has one, else of its embedded bases (promoted).
func (x *extractor) flags(key string) map[string]bool {
	if found, ok := x.memo[key]; ok {
		return found
	}
	out := map[string]bool{}
	x.memo[key] = out // a cycle stops here
	info := x.types[key]
	if m := x.methods[key]["SetFlags"]; m != nil {
		x.addCalls(out, m, key, 0)
	} else if info != nil {
		for _, embed := range info.embeds {
			merge(out, x.flags(x.resolve(embed, info.pkg, info.imports)))
		}
	}
	return out
}

// addCalls adds the flags a SetFlags-like body registers: its own, and those of every method
// it hands the FlagSet to (on the receiver or on one of its fields, promoted ones included).
func (x *extractor) addCalls(out map[string]bool, m *method, key string, depth int) {
	if depth > 8 {
		return // a method calling itself through a field: nothing new past here
	}
	ast.Inspect(m.body, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if noValue, isFlag := flagFuncs[sel.Sel.Name]; isFlag && len(call.Args) >= 2 {
			if lit, ok := call.Args[1].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				name, _ := strconv.Unquote(lit.Value)
				out[name] = noValue
			}
			return true
		}
		if !passes(call, m.flagSet) {
			return true
		}
		target := ""
		switch on := sel.X.(type) {
		case *ast.Ident: // c.setNonFormatFlags(f)
			if on.Name == m.recv {
				target = key
			}
		case *ast.SelectorExpr: // c.ModelCommandBase.SetFlags(f), c.out.AddFlags(f, ...)
			if recv, ok := on.X.(*ast.Ident); ok && recv.Name == m.recv {
				target = x.fieldType(key, on.Sel.Name, 0)
			}
		}
		if target == "" {
			return true
		}
		if sel.Sel.Name == "SetFlags" {
			merge(out, x.flags(target))
		} else if found, owner := x.findMethod(target, sel.Sel.Name, 0); found != nil {
			x.addCalls(out, found, owner, depth+1)
		}
		return true
	})
}

// passes reports whether a call is handed the FlagSet.
func passes(call *ast.CallExpr, flagSet string) bool {
	for _, arg := range call.Args {
		if id, ok := arg.(*ast.Ident); ok && id.Name == flagSet {
			return true
		}
	}
	return false
}

// fieldType is the type key of a field of a type, promoted from an embedded base or not.
func (x *extractor) fieldType(key, field string, depth int) string {
	info := x.types[key]
	if info == nil || depth > 8 {
		return ""
	}
	if typ, ok := info.fields[field]; ok {
		return x.resolve(typ, info.pkg, info.imports)
	}
	for _, embed := range info.embeds {
		if found := x.fieldType(x.resolve(embed, info.pkg, info.imports), field, depth+1); found != "" {
			return found
		}
	}
	return ""
}

// findMethod finds a method of a type, or one promoted from an embedded base, and its owner.
func (x *extractor) findMethod(key, name string, depth int) (*method, string) {
	if m := x.methods[key][name]; m != nil {
		return m, key
	}
	info := x.types[key]
	if info == nil || depth > 8 {
		return nil, ""
	}
	for _, embed := range info.embeds {
		if m, owner := x.findMethod(x.resolve(embed, info.pkg, info.imports), name, depth+1); m != nil {
			return m, owner
		}
	}
	return nil, ""
}

// embedsBase reports whether a type embeds the named base, at any depth.
func (x *extractor) embedsBase(key, base string, seen map[string]bool) bool {
	info := x.types[key]
	if info == nil || seen[key] {
		return false
	}
	seen[key] = true
	for _, embed := range info.embeds {
		if bareName(embed) == base || x.embedsBase(x.resolve(embed, info.pkg, info.imports), base, seen) {
			return true
		}
	}
	return false
}

// commandName is the Name (and Aliases) of the cmd.Info an Info method builds.
func commandName(m *method) (string, []string) {
	var name string
	var aliases []string
	ast.Inspect(m.body, func(n ast.Node) bool {
		lit, ok := n.(*ast.CompositeLit)
		if !ok || bareName(lit.Type) != "Info" || name != "" {
			return name == ""
		}
		for _, elt := range lit.Elts {
			kv, ok := elt.(*ast.KeyValueExpr)
			if !ok {
				continue
			}
			switch key := bareName(kv.Key); key {
			case "Name":
				if s, ok := kv.Value.(*ast.BasicLit); ok && s.Kind == token.STRING {
					name, _ = strconv.Unquote(s.Value)
				}
			case "Aliases":
				if list, ok := kv.Value.(*ast.CompositeLit); ok {
					for _, a := range list.Elts {
						if s, ok := a.(*ast.BasicLit); ok && s.Kind == token.STRING {
							alias, _ := strconv.Unquote(s.Value)
							aliases = append(aliases, alias)
						}
					}
				}
			}
		}
		return false
	})
	return name, aliases
}

type command struct {
	Aliases []string          `json:"aliases,omitempty"`
	Flags   map[string]string `json:"flags"`
}

type table struct {
	GlobalFlags map[string]string   `json:"global_flags"`
	Commands    map[string]*command `json:"commands"`
}

func kinds(flags map[string]bool) map[string]string {
	out := map[string]string{}
	for name, noValue := range flags {
		out[name] = "value"
		if noValue {
			out[name] = "bool"
		}
	}
	return out
}

func merge(into, from map[string]bool) {
	for name, noValue := range from {
		into[name] = noValue
	}
}

func (x *extractor) methodFlags(typeName, methodName string) map[string]bool {
	out := map[string]bool{}
	for _, key := range x.byName[typeName] {
		if m := x.methods[key][methodName]; m != nil {
			x.addCalls(out, m, key, 0)
		}
	}
	return out
}

func (x *extractor) table() table {
	global := x.methodFlags("SuperCommand", "SetCommonFlags")
	merge(global, x.methodFlags("Log", "AddFlags"))
	result := table{GlobalFlags: kinds(global), Commands: map[string]*command{}}
	keys := make([]string, 0, len(x.methods))
	for key := range x.methods {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	for _, key := range keys {
		info := x.methods[key]["Info"]
		if info == nil || x.types[key] == nil || !x.isClientCommand(key) {
			continue
		}
		name, aliases := commandName(info)
		if name == "" || strings.Contains(name, " ") {
			continue
		}
		flags := map[string]bool{}
		merge(flags, x.flags(key))
		for base, wrapper := range wrappers {
			if x.embedsBase(key, base, map[string]bool{}) {
				merge(flags, x.methodFlags(wrapper, "SetFlags"))
			}
		}
		if found, ok := result.Commands[name]; ok {
			// Two types of one name (a command and a plugin's, say): a flag of either is kept.
			for flag, kind := range kinds(flags) {
				found.Flags[flag] = kind
			}
			continue
		}
		result.Commands[name] = &command{Aliases: aliases, Flags: kinds(flags)}
	}
	return result
}

func (x *extractor) isClientCommand(key string) bool {
	pkg := x.types[key].pkg
	for _, prefix := range x.commandPackages {
		if prefix != "" && (pkg == prefix || strings.HasPrefix(pkg, prefix+"/")) {
			return !strings.HasSuffix(key, ".SuperCommand")
		}
	}
	return false
}
