proxy ${target}
