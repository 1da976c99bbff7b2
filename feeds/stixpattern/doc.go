// Package stixpattern parses and evaluates the STIX 2.1 patterning
// language (STIX 2.1 specification, section 9) and translates patterns
// into iocmatch's indicator model (engine/ioc).
package stixpattern
