/* An extension module as Python 3.15's export hook (PEP 793) sees it: it exports
   `PyModExport_demo` and no `PyInit_`. Compiled by `tests/it/platforms.rs` with the machine's C
   compiler; the hook's signature is left out, since only the exported name is read. */

void *PyModExport_demo(void) { return 0; }

/* Not exported: hidden from the dynamic symbol table, as a static helper or a symbol a version
   script drops would be. The reader reads what the loader can find, so it must not see it. */
__attribute__((visibility("hidden"))) void *PyInit_hidden(void) { return 0; }
