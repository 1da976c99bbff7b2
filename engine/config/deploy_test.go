package config

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"
)

// TestDeployFilesAreYAML parses every YAML file under deploy/ (multi-document
// manifests included), and every iocmatch configuration shipped there with
// Parse, so a deployment example cannot rot.
func TestDeployFilesAreYAML(t *testing.T) {
	root := filepath.Join("..", "..", "deploy")
	var files []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".yaml")) {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 5 {
		t.Fatalf("only %d YAML files under %s", len(files), root)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(strings.NewReader(string(data)))
		for i := 0; ; i++ {
			var doc map[string]any
			err := dec.Decode(&doc)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Errorf("%s document %d: %v", f, i, err)
				break
			}
			// A Kubernetes ConfigMap carrying an iocmatch configuration.
			if doc["kind"] == "ConfigMap" {
				d, _ := doc["data"].(map[string]any)
				if cfg, ok := d["iocmatch.yml"].(string); ok {
					if _, err := Parse([]byte(cfg)); err != nil {
						t.Errorf("%s: ConfigMap iocmatch.yml: %v", f, err)
					}
				}
			}
		}
	}
	// The compose configuration.
	if _, err := Load(filepath.Join(root, "compose", "iocmatch.yml")); err != nil {
		t.Error(err)
	}
}
