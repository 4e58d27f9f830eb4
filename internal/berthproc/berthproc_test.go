package berthproc

import (
	"os"
	"path/filepath"
	"testing"
)

func TestReadCredentials(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, text, id, secret string
		ok                     bool
	}{
		{"default", "[default]\naws_access_key_id = AKIA1\naws_secret_access_key = s/ecret=\n", "AKIA1", "s/ecret=", true},
		{"other profile only", "[other]\naws_access_key_id = AKIA1\naws_secret_access_key = s\n", "", "", false},
		{"default after other", "[other]\naws_access_key_id = X\n[default]\naws_access_key_id=AKIA2\naws_secret_access_key=t\n", "AKIA2", "t", true},
		{"no secret", "[default]\naws_access_key_id = AKIA1\n", "", "", false},
	} {
		path := filepath.Join(dir, tc.name)
		if err := os.WriteFile(path, []byte(tc.text), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := ReadCredentials(path)
		if (err == nil) != tc.ok || c.AccessKeyID != tc.id || c.SecretAccessKey != tc.secret {
			t.Errorf("ReadCredentials(%s) = %q %q, %v; want %q %q, ok %v", tc.name, c.AccessKeyID, c.SecretAccessKey, err, tc.id, tc.secret, tc.ok)
		}
	}
}
