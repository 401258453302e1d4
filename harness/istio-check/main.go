// Command istio-check runs Istio's own admission validation over Istio YAML, offline.
//
// Every document goes through the handler of istiod's validating webhook (the
// same code that answers `kubectl apply` in a cluster: decode, schema lookup by
// group and kind, conversion, the schema's ValidateConfig, unknown top-level
// fields), called in process: no cluster, no network. Its verdict and warnings
// (e.g. "using deprecated filter name" for an EnvoyFilter that matches
// envoy.http_connection_manager) are printed as one JSON object on stdout.
//
// Usage: istio-check [FILE ...]   (no FILE or "-": standard input)
//
// Exit codes: 0 every Istio object is valid (warnings allowed), 1 at least one
// is invalid, 2 the input cannot be read or parsed. The contract is documented
// in docs/istio-check.md of wasmkit; it is built by .ci/build-istio together
// with (and from the same module version as) the istiod it speaks for.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kubeyaml "k8s.io/apimachinery/pkg/util/yaml"

	"istio.io/istio/pkg/config/constants"
	"istio.io/istio/pkg/config/schema/collections"
	"istio.io/istio/pkg/log"
	"istio.io/istio/pkg/version"
	"istio.io/istio/pkg/webhooks/validation/server"
)

// maxInput bounds what one invocation reads (all files together).
const maxInput = 16 << 20

// object is the verdict on one document of the input.
type object struct {
	Source     string   `json:"source"`
	Index      int      `json:"index"`
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Namespace  string   `json:"namespace"`
	Name       string   `json:"name"`
	Checked    bool     `json:"checked"`
	Valid      bool     `json:"valid"`
	Errors     []string `json:"errors"`
	Warnings   []string `json:"warnings"`
}

type report struct {
	Istio   string   `json:"istio"`
	Valid   bool     `json:"valid"`
	Objects []object `json:"objects"`
}

type document struct {
	source string
	index  int
	raw    []byte
	fields map[string]any
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	// istiod's packages log through their own scopes; none of it belongs on our stdout.
	opts := log.DefaultOptions()
	opts.OutputPaths = []string{"/dev/null"}
	opts.ErrorOutputPaths = []string{"/dev/null"}
	_ = log.Configure(opts)

	for _, a := range args {
		if a == "-h" || a == "--help" {
			fmt.Fprintln(stdout, "usage: istio-check [FILE ...]  (validates Istio YAML with istiod's webhook; JSON on stdout)")
			return 0
		}
	}
	if len(args) == 0 {
		args = []string{"-"}
	}
	var docs []document
	budget := int64(maxInput)
	for _, name := range args {
		data, err := readBounded(name, stdin, &budget)
		if err != nil {
			fmt.Fprintf(stderr, "istio-check: %v\n", err)
			return 2
		}
		parsed, err := split(name, data)
		if err != nil {
			fmt.Fprintf(stderr, "istio-check: %s: %v\n", name, err)
			return 2
		}
		docs = append(docs, parsed...)
	}

	mux := http.NewServeMux()
	if _, err := server.New(server.Options{
		Schemas:      collections.PilotGatewayAPI(),
		DomainSuffix: constants.DefaultClusterLocalDomain,
		Mux:          mux,
	}); err != nil {
		fmt.Fprintf(stderr, "istio-check: %v\n", err)
		return 2
	}
	out := report{Istio: version.Info.Version, Valid: true, Objects: []object{}}
	for _, d := range docs {
		o := check(mux, d)
		out.Valid = out.Valid && o.Valid
		out.Objects = append(out.Objects, o)
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fmt.Fprintf(stderr, "istio-check: %v\n", err)
		return 2
	}
	if !out.Valid {
		return 1
	}
	return 0
}

func readBounded(name string, stdin io.Reader, budget *int64) ([]byte, error) {
	var r io.Reader = stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, *budget+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	if int64(len(data)) > *budget {
		return nil, fmt.Errorf("%s: input larger than %d bytes", name, maxInput)
	}
	*budget -= int64(len(data))
	return data, nil
}

// split turns a YAML (or JSON) stream into documents; empty documents are dropped.
func split(source string, data []byte) ([]document, error) {
	dec := kubeyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var docs []document
	for index := 0; ; index++ {
		var fields map[string]any
		err := dec.Decode(&fields)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %v", index, err)
		}
		if len(fields) == 0 {
			continue
		}
		raw, err := json.Marshal(fields)
		if err != nil {
			return nil, fmt.Errorf("document %d: %v", index, err)
		}
		docs = append(docs, document{source: source, index: index, raw: raw, fields: fields})
	}
}

func str(m map[string]any, key string) string {
	if s, ok := m[key].(string); ok {
		return s
	}
	return ""
}

// check asks the webhook about one document, as the API server would on `kubectl apply`.
func check(mux *http.ServeMux, d document) object {
	meta, _ := d.fields["metadata"].(map[string]any)
	o := object{
		Source: d.source, Index: d.index,
		APIVersion: str(d.fields, "apiVersion"), Kind: str(d.fields, "kind"),
		Namespace: str(meta, "namespace"), Name: str(meta, "name"),
		Errors: []string{}, Warnings: []string{}, Valid: true,
	}
	gv, err := schema.ParseGroupVersion(o.APIVersion)
	if err != nil || o.Kind == "" {
		o.Valid = false
		o.Errors = append(o.Errors, "not a Kubernetes object: apiVersion and kind are required")
		return o
	}
	if !strings.HasSuffix(gv.Group, "istio.io") {
		return o // not Istio's: the webhook never sees it
	}
	o.Checked = true
	review := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID:       "istio-check",
			Kind:      metav1.GroupVersionKind{Group: gv.Group, Version: gv.Version, Kind: o.Kind},
			Namespace: o.Namespace,
			Name:      o.Name,
			Operation: admissionv1.Create,
			Object:    runtime.RawExtension{Raw: d.raw},
		},
	}
	body, _ := json.Marshal(review)
	req := httptest.NewRequest(http.MethodPost, "/validate", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	var answer admissionv1.AdmissionReview
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &answer) != nil || answer.Response == nil {
		o.Valid = false
		o.Errors = append(o.Errors, fmt.Sprintf("the webhook answered %d: %s", rec.Code, strings.TrimSpace(rec.Body.String())))
		return o
	}
	o.Warnings = append(o.Warnings, answer.Response.Warnings...)
	if !answer.Response.Allowed {
		o.Valid = false
		msg := "rejected"
		if answer.Response.Result != nil && answer.Response.Result.Message != "" {
			msg = answer.Response.Result.Message
		}
		o.Errors = append(o.Errors, msg)
	}
	return o
}
