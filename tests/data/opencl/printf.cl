// printf: format strings in amdhsa.printf and a hidden printf buffer argument.
__kernel void say(__global const int *values) {
  uint l = __builtin_amdgcn_workitem_id_x();
  printf("item %u has %d\n", l, values[l]);
  if (l == 0)
    printf("done %s\n", "now");
}
