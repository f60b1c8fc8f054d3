package config

import "reflect"

// Values maps every key to its value in c: a string, int, uint64, bool or
// float64 that Update accepts back, and for network: the *network.Network
// (nil without one), which Update does not take. Built from the table of
// keys, so a key added there is never missing here.
func Values(c Config) map[string]any {
	values := make(map[string]any, len(fields))
	for _, f := range fields {
		values[f.key] = reflect.ValueOf(f.ptr(&c)).Elem().Interface()
	}
	return values
}
