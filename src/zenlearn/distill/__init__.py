"""Knowledge distillation: losses and the methods that bind a teacher to a student's training loss."""
