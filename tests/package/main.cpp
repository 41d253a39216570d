// Uses the installed library: parses a config and prints one resolved value.
#include <iostream>

#include <pat/config/config.h>

int main() {
  auto config = pat::default_config({"model.pat.codebook_size=77"});
  std::cout << "codebook_size=" << config.model.pat.codebook_size << std::endl;
  return config.model.pat.codebook_size == 77 ? 0 : 1;
}
