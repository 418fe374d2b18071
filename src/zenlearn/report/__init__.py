"""HTML reports and plots of run, comparison, distillation and reproduction folders."""
