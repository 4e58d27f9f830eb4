package keyring

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// FuzzParseKeyFile checks that no key file content panics the parser, and
// that whatever it accepts survives a write and a read unchanged.
func FuzzParseKeyFile(f *testing.F) {
	f.Add(encodeKeyFile([]*generation{newGeneration(time.Unix(0, 0))}))
	f.Add([]byte(`{"format":"berth-keyring/1","generations":[{"id":"a","key":"AAAA"}]}`))
	f.Add([]byte(`{"format":"berth-keyring/1","generations":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		gens, err := parseKeyFile(b)
		if err != nil {
			return
		}
		again, err := parseKeyFile(encodeKeyFile(gens))
		if err != nil {
			t.Fatalf("parseKeyFile(encodeKeyFile(parsed)) = %v", err)
		}
		if len(again) != len(gens) {
			t.Fatalf("round trip kept %d of %d generations", len(again), len(gens))
		}
		for i := range gens {
			if again[i].id != gens[i].id || string(again[i].key) != string(gens[i].key) {
				t.Fatalf("round trip changed generation %d", i)
			}
		}
	})
}

// FuzzOpen feeds stored-envelope JSON to Open: it never panics, and anything
// but the envelope sealed for that associated data fails with ErrDecrypt.
func FuzzOpen(f *testing.F) {
	k, err := Open(Config{Dir: f.TempDir()})
	if err != nil {
		f.Fatal(err)
	}
	env, err := k.Seal([]byte("fuzz"), []byte("owner"))
	if err != nil {
		f.Fatal(err)
	}
	good, _ := json.Marshal(env)
	f.Add(good, []byte("owner"))
	f.Add(good, []byte("other"))
	f.Add([]byte(`{"k":"x","w":"","n":"","c":""}`), []byte("owner"))
	f.Add([]byte(`{}`), []byte{})
	f.Fuzz(func(t *testing.T, stored, aad []byte) {
		var e Envelope
		if json.Unmarshal(stored, &e) != nil {
			return
		}
		pt, err := k.Open(e, aad)
		if err == nil {
			if string(pt) != "fuzz" || string(aad) != "owner" {
				t.Fatalf("Open(%s, %q) = %q; want ErrDecrypt", stored, aad, pt)
			}
			return
		}
		if !errors.Is(err, ErrDecrypt) {
			t.Fatalf("Open error %v does not wrap ErrDecrypt", err)
		}
		if _, _, err := k.Rewrap(e); err != nil && !errors.Is(err, ErrDecrypt) {
			t.Fatalf("Rewrap error %v does not wrap ErrDecrypt", err)
		}
	})
}
